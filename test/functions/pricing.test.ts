import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PricingCache, type PricingPage } from '../../functions/pricing/cache.js';
import { call, closeFunctionRuntime, closeTestDb, createTenant, serveFunction, testDb, type ServedFunction, type TestTenant } from '../helpers/tenants.js';

// Set before the function module loads: it reads its configuration at import.
process.env.FUNCTION_NAME = 'pricing';

const { pricingCacheStats } = await import('../../functions/pricing/index.js');

interface Item {
  provider: string;
  model: string;
  input_per_1k_usd: number;
  output_per_1k_usd: number;
  updated_at: string;
}
type Page = PricingPage;

let fn: ServedFunction;
let org: TestTenant;

beforeAll(async () => {
  fn = await serveFunction('pricing');
  org = await createTenant({ slugPrefix: 'pricing' });
});

afterAll(async () => {
  await fn.close();
  await closeTestDb();
  await closeFunctionRuntime();
});

const api = (method: string, path: string, body?: unknown): ReturnType<typeof call> => call(fn.url, org.apiKey, method, path, body);

/** Follows `next_cursor` to the end, running `between` after each page. */
async function walk(path: string, limit: number, between: (page: number) => Promise<void> = async () => undefined): Promise<Item[]> {
  const seen: Item[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page += 1) {
    const sep = path.includes('?') ? '&' : '?';
    const res = await api('GET', `${path}${sep}limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
    expect(res.status).toBe(200);
    const body = res.body as Page;
    seen.push(...body.items);
    cursor = body.next_cursor;
    if (cursor === null) return seen;
    await between(page);
  }
  throw new Error('the walk did not end');
}

describe('pricing', () => {
  it('creates a price with PUT and answers the item with prices as JSON numbers', async () => {
    const res = await api('PUT', '/v1/pricing/openai/gpt-4o', { input_per_1k_usd: 0.0025, output_per_1k_usd: 0.01 });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ provider: 'openai', model: 'gpt-4o', input_per_1k_usd: 0.0025, output_per_1k_usd: 0.01 });
    expect(Date.parse((res.body as Item).updated_at)).not.toBeNaN();
  });

  it('replaces an existing price with PUT (upsert), keeping one row', async () => {
    await api('PUT', '/v1/pricing/openai/gpt-4o-mini', { input_per_1k_usd: 1, output_per_1k_usd: 2 });

    const res = await api('PUT', '/v1/pricing/openai/gpt-4o-mini', { input_per_1k_usd: 0.00015, output_per_1k_usd: 0.0006 });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ input_per_1k_usd: 0.00015, output_per_1k_usd: 0.0006 });
    const { rows } = await testDb().query(`SELECT count(*)::int AS n FROM llm_pricing WHERE org_id = $1 AND model = 'gpt-4o-mini'`, [org.orgId]);
    expect(rows[0]).toEqual({ n: 1 });
  });

  it('decodes a percent-encoded model name from the path', async () => {
    const res = await api('PUT', `/v1/pricing/anthropic/${encodeURIComponent('claude-3.5:sonnet')}`, { input_per_1k_usd: 0.003, output_per_1k_usd: 0.015 });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ provider: 'anthropic', model: 'claude-3.5:sonnet' });
  });

  it('deletes a price with 204, and an unknown one is 404', async () => {
    await api('PUT', '/v1/pricing/mistral/tiny', { input_per_1k_usd: 0, output_per_1k_usd: 0 });

    const first = await api('DELETE', '/v1/pricing/mistral/tiny');
    const second = await api('DELETE', '/v1/pricing/mistral/tiny');

    expect(first.status).toBe(204);
    expect(second.status).toBe(404);
    expect(second.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('shows a write in the very next list on the same instance, although the list is cached', async () => {
    const before = await api('GET', '/v1/pricing?provider=cachetest');
    await api('GET', '/v1/pricing?provider=cachetest'); // now certainly served from the cache
    expect((before.body as Page).items).toEqual([]);

    await api('PUT', '/v1/pricing/cachetest/m1', { input_per_1k_usd: 1, output_per_1k_usd: 2 });
    const afterPut = await api('GET', '/v1/pricing?provider=cachetest');
    await api('PUT', '/v1/pricing/cachetest/m1', { input_per_1k_usd: 3, output_per_1k_usd: 4 });
    const afterUpdate = await api('GET', '/v1/pricing?provider=cachetest');
    await api('DELETE', '/v1/pricing/cachetest/m1');
    const afterDelete = await api('GET', '/v1/pricing?provider=cachetest');

    expect((afterPut.body as Page).items.map((i) => i.input_per_1k_usd)).toEqual([1]);
    expect((afterUpdate.body as Page).items.map((i) => i.input_per_1k_usd)).toEqual([3]);
    expect((afterDelete.body as Page).items).toEqual([]);
  });

  it('serves repeated lists from the cache, and the hit rate shows in the cache stats', async () => {
    await api('PUT', '/v1/pricing/statstest/m1', { input_per_1k_usd: 1, output_per_1k_usd: 1 });
    const before = pricingCacheStats();

    for (let i = 0; i < 10; i += 1) expect((await api('GET', '/v1/pricing?provider=statstest&limit=7')).status).toBe(200);
    const after = pricingCacheStats();

    expect(after.misses - before.misses).toBe(1);
    expect(after.hits - before.hits).toBe(9);
    expect(after.hitRate).toBeGreaterThan(0);
    expect(after.size).toBeGreaterThan(0);
  });

  it('filters by provider and orders by (provider, model)', async () => {
    for (const model of ['b', 'a', 'c']) await api('PUT', `/v1/pricing/ordertest/${model}`, { input_per_1k_usd: 1, output_per_1k_usd: 1 });

    const res = await api('GET', '/v1/pricing?provider=ordertest');

    expect((res.body as Page).items.map((i) => `${i.provider}/${i.model}`)).toEqual(['ordertest/a', 'ordertest/b', 'ordertest/c']);
    expect((res.body as Page).next_cursor).toBeNull();
  });

  it('walks every row exactly once across pages while rows are inserted between page fetches', async () => {
    const walker = await createTenant({ slugPrefix: 'pricewalk' });
    const seed = Array.from({ length: 230 }, (_, i) => ({ provider: `p${String(i % 7)}x`, model: `m-${String(i).padStart(4, '0')}` }));
    await testDb().query(
      `INSERT INTO llm_pricing (org_id, provider, model, input_per_1k_usd, output_per_1k_usd)
       SELECT $1, p, m, 1, 2 FROM unnest($2::text[], $3::text[]) AS t(p, m)`,
      [walker.orgId, seed.map((s) => s.provider), seed.map((s) => s.model)],
    );
    const previous = org;
    org = walker;
    try {
      // Between pages, add rows both before the cursor (a0…) and after it (z9…) through the API.
      const seen = await walk('/v1/pricing', 37, async (page) => {
        await api('PUT', `/v1/pricing/a0new/m${page}`, { input_per_1k_usd: 1, output_per_1k_usd: 1 });
        await api('PUT', `/v1/pricing/z9new/m${page}`, { input_per_1k_usd: 1, output_per_1k_usd: 1 });
      });

      const keys = seen.map((i) => `${i.provider}/${i.model}`);
      expect(new Set(keys).size).toBe(keys.length); // no row twice
      for (const s of seed) expect(keys).toContain(`${s.provider}/${s.model}`); // every original row once
      expect(keys.filter((k) => !k.startsWith('a0new/') && !k.startsWith('z9new/'))).toHaveLength(seed.length);
      expect([...keys].sort()).toEqual(keys.slice().sort()); // pages come in key order
    } finally {
      org = previous;
    }
  });

  it.each([
    ['a changed character', (c: string) => `${c.slice(0, -3)}${c.at(-3) === 'A' ? 'B' : 'A'}${c.slice(-2)}`],
    ['a changed payload', (c: string) => c.replace(/^v1\.[^.]+/, `v1.${Buffer.from('["zzz","zzz"]').toString('base64url')}`)],
    ['another version tag', (c: string) => c.replace(/^v1\./, 'v2.')],
    ['garbage', () => 'not-a-cursor'],
  ])('refuses a cursor with %s as 400 INVALID_ARGUMENT naming cursor', async (_name, tamper) => {
    for (const model of ['c1', 'c2', 'c3']) await api('PUT', `/v1/pricing/cursortest/${model}`, { input_per_1k_usd: 1, output_per_1k_usd: 1 });
    const first = await api('GET', '/v1/pricing?provider=cursortest&limit=1');
    const cursor = (first.body as Page).next_cursor as string;

    const res = await api('GET', `/v1/pricing?provider=cursortest&limit=1&cursor=${encodeURIComponent(tamper(cursor))}`);

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: [{ path: 'cursor' }] } });
  });

  it('refuses a cursor issued for another provider filter', async () => {
    const first = await api('GET', '/v1/pricing?provider=cursortest&limit=1');
    const cursor = (first.body as Page).next_cursor as string;

    const res = await api('GET', `/v1/pricing?provider=ordertest&limit=1&cursor=${encodeURIComponent(cursor)}`);

    expect(res.status).toBe(400);
  });

  it.each([
    ['limit above 500', '?limit=501', 'limit'],
    ['limit 0', '?limit=0', 'limit'],
    ['a negative limit', '?limit=-1', 'limit'],
    ['a fractional limit', '?limit=1.5', 'limit'],
    ['an unknown parameter', '?sort=model', 'sort'],
    ['a bad provider filter', '?provider=OpenAI', 'provider'],
  ])('answers %s with 400 naming the parameter', async (_name, query, field) => {
    const res = await api('GET', `/v1/pricing${query}`);

    expect(res.status).toBe(400);
    // Unknown keys are reported at the root with the key in the message (shared zod mapping).
    expect(JSON.stringify((res.body as { error: { details: unknown } }).error.details)).toContain(field);
  });

  it('accepts limit 500', async () => {
    expect((await api('GET', '/v1/pricing?limit=500')).status).toBe(200);
  });

  it.each([
    ['a negative price', { input_per_1k_usd: -1, output_per_1k_usd: 1 }, 'input_per_1k_usd'],
    ['a price as a string', { input_per_1k_usd: 1, output_per_1k_usd: '1' }, 'output_per_1k_usd'],
    ['a missing price', { input_per_1k_usd: 1 }, 'output_per_1k_usd'],
    ['an extra field', { input_per_1k_usd: 1, output_per_1k_usd: 1, currency: 'EUR' }, 'currency'],
  ])('refuses %s with 400 naming the field', async (_name, body, field) => {
    const res = await api('PUT', '/v1/pricing/openai/gpt-4o', body);

    expect(res.status).toBe(400);
    expect(JSON.stringify((res.body as { error: unknown }).error)).toContain(field);
  });

  it('refuses 1e309 (Infinity once parsed) in raw JSON with 400', async () => {
    const res = await fetch(`${fn.url}/v1/pricing/openai/gpt-4o`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${org.apiKey}`, 'content-type': 'application/json' },
      body: '{"input_per_1k_usd":1e309,"output_per_1k_usd":1}',
    });

    expect(res.status).toBe(400);
  });

  it('refuses an invalid provider or model in the path with 400', async () => {
    const badProvider = await api('PUT', '/v1/pricing/Open%20AI/gpt-4o', { input_per_1k_usd: 1, output_per_1k_usd: 1 });
    const badModel = await api('PUT', `/v1/pricing/openai/${encodeURIComponent('gpt/4o')}`, { input_per_1k_usd: 1, output_per_1k_usd: 1 });

    expect(badProvider.status).toBe(400);
    expect(badModel.status).toBe(400);
  });

  it('answers without a key with 401', async () => {
    const res = await fetch(`${fn.url}/v1/pricing`);

    expect(res.status).toBe(401);
  });
});

describe('pricing cache', () => {
  const page = (price: number): PricingPage => ({
    items: [{ provider: 'p', model: 'm', input_per_1k_usd: price, output_per_1k_usd: price, updated_at: '2024-01-01T00:00:00.000Z' }],
    next_cursor: null,
  });

  it('does not keep a page whose load was running when a write invalidated the tenant', async () => {
    const cache = new PricingCache({ ttlMs: 60_000, maxEntries: 10, maxEntriesPerTenant: 10 });
    let release: (value: PricingPage) => void = () => undefined;
    const slow = cache.page('org-1', 'q', () => new Promise<PricingPage>((resolve) => (release = resolve)));

    cache.invalidate('org-1'); // the write lands while the old read is still running
    release(page(1));
    await slow;
    const next = await cache.page('org-1', 'q', async () => page(2));

    expect(next.items[0]?.input_per_1k_usd).toBe(2);
  });

  it("keeps one tenant's pages out of another's reach for the same query key", async () => {
    const cache = new PricingCache({ ttlMs: 60_000, maxEntries: 10, maxEntriesPerTenant: 10 });
    await cache.page('org-a', 'q', async () => page(1));

    const forB = await cache.page('org-b', 'q', async () => page(2));

    expect(forB.items[0]?.input_per_1k_usd).toBe(2);
  });
});

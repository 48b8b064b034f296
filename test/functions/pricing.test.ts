import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PricingCache, type PricingPage } from '../../functions/pricing/cache.js';
import { SerializedJson } from '../../shared/http/index.js';
import type { PriceEntry } from '../../shared/pricing/index.js';
import { CATALOGUE_ENTRIES } from '../../shared/pricing/catalogueEntries.js';
import { call, closeFunctionRuntime, closeTestDb, createTenant, serveFunction, testDb, type ServedFunction, type TestTenant } from '../helpers/tenants.js';
import { documentedFetch } from '../helpers/apiContract.js';

// Set before the function module loads: it reads its configuration at import.
process.env.FUNCTION_NAME = 'pricing';

const { pricingCacheStats } = await import('../../functions/pricing/index.js');

type Page = PricingPage;
interface Resolved {
  entry: PriceEntry;
  multiplier: string | null;
  per_class: Record<string, string | null>;
}
interface ErrorBody {
  error: { code: string; message: string; details: { path: string; message: string }[] };
}

let fn: ServedFunction;
/** The org most tests write to; tests that need a clean slate make their own. */
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

const as = (tenant: TestTenant, method: string, path: string, body?: unknown): ReturnType<typeof call> => call(fn.url, tenant.apiKey, method, path, body);
const api = (method: string, path: string, body?: unknown): ReturnType<typeof call> => as(org, method, path, body);

/** The list's order: provider, model, service_tier, effective_from, source — by code unit, as the API promises. */
const keyOf = (e: PriceEntry): string => [e.provider, e.model, e.service_tier, e.effective_from, e.source].join('\u0000');
const inKeyOrder = (keys: string[]): string[] => [...keys].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));

/** Follows `next_cursor` to the end as `tenant`, running `between` after each page. */
async function walk(tenant: TestTenant, path: string, limit: number, between: (page: number) => Promise<void> = async () => undefined): Promise<{ items: PriceEntry[]; pages: number }> {
  const items: PriceEntry[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page += 1) {
    const sep = path.includes('?') ? '&' : '?';
    const res = await as(tenant, 'GET', `${path}${sep}limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
    expect(res.status).toBe(200);
    const body = res.body as Page;
    expect(body.items.length).toBeLessThanOrEqual(limit);
    items.push(...body.items);
    cursor = body.next_cursor;
    if (cursor === null) return { items, pages: page + 1 };
    await between(page);
  }
  throw new Error('the walk did not end');
}

const prices = (input: unknown, output: unknown, more: Record<string, unknown> = {}): Record<string, unknown> => ({ prices_per_mtok_usd: { input, output, ...more } });

async function resolve(tenant: TestTenant, query: string): Promise<{ status: number; body: unknown }> {
  return as(tenant, 'GET', `/v1/pricing/resolve?${query}`);
}

describe('GET /v1/pricing', () => {
  it('lists the shipped catalogue to an org with no entries of its own, each entry citing its https page and the day it was read', async () => {
    const fresh = await createTenant({ slugPrefix: 'pricecat' });

    const { items } = await walk(fresh, '/v1/pricing', 500);

    expect(items).toHaveLength(CATALOGUE_ENTRIES.length);
    for (const e of items) {
      expect(e.source).toBe('catalogue');
      expect(e.source_url).toMatch(/^https:\/\//);
      expect(e.read_on).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(e.updated_at).toBeUndefined();
      // Exact decimal strings without trailing zeros: the page's "2.50" is shown as "2.5".
      for (const price of Object.values(e.prices_per_mtok_usd)) expect(price).toMatch(/^(0|[1-9]\d*)(\.\d*[1-9])?$/);
    }
    const gpt4o = items.find((e) => e.provider === 'openai' && e.model === 'gpt-4o' && e.service_tier === 'standard');
    expect(gpt4o).toMatchObject({ match: 'snapshots', effective_from: '1970-01-01', prices_per_mtok_usd: { input: '2.5', output: '10', cached_input: '1.25' } });
  });

  it('merges an org entry right after the catalogue entry it overrides (same provider, model, tier and date; catalogue first)', async () => {
    const fresh = await createTenant({ slugPrefix: 'pricemerge' });
    expect((await as(fresh, 'PUT', '/v1/pricing/openai/gpt-4o', prices('2', '8'))).status).toBe(200);
    expect((await as(fresh, 'PUT', '/v1/pricing/openai/gpt-4o', { service_tier: 'batch', ...prices('1', '4') })).status).toBe(200);

    const res = await as(fresh, 'GET', '/v1/pricing?provider=openai&model=gpt-4o');

    expect((res.body as Page).items.map((e) => `${e.service_tier}/${e.source}/${e.prices_per_mtok_usd.input}`)).toEqual([
      'batch/org/1',
      'standard/catalogue/2.5',
      'standard/org/2',
    ]);
    expect((res.body as Page).next_cursor).toBeNull();
  });

  it('pages across a catalogue entry and the org entry with the same key one at a time, each exactly once', async () => {
    const fresh = await createTenant({ slugPrefix: 'pricetie' });
    await as(fresh, 'PUT', '/v1/pricing/openai/gpt-4o-mini', prices('0.1', '0.4'));

    const { items, pages } = await walk(fresh, '/v1/pricing?provider=openai&model=gpt-4o-mini', 1);

    expect(items.map((e) => `${e.service_tier}/${e.source}`)).toEqual(['standard/catalogue', 'standard/org']);
    expect(pages).toBe(2);
  });

  it.each([
    ['org', ['org']],
    ['catalogue', ['catalogue']],
    ['all', ['catalogue', 'org']],
  ])('filters by source=%s', async (source, expected) => {
    const fresh = await createTenant({ slugPrefix: 'pricesrc' });
    await as(fresh, 'PUT', '/v1/pricing/anthropic/claude-3-haiku', prices('0.2', '1'));

    const res = await as(fresh, 'GET', `/v1/pricing?provider=anthropic&source=${source}&limit=500`);

    expect(res.status).toBe(200);
    const items = (res.body as Page).items;
    expect([...new Set(items.map((e) => e.source))].sort()).toEqual(expected);
    if (source !== 'catalogue') expect(items.filter((e) => e.source === 'org').map((e) => e.model)).toEqual(['claude-3-haiku']);
  });

  it('walks every org and catalogue entry exactly once, in key order, while entries are written between page fetches', async () => {
    const walker = await createTenant({ slugPrefix: 'pricewalk' });
    // 150 org entries spread over the catalogue's providers and others, with characters
    // whose order differs between collations, some with the key of a catalogue entry.
    const models = ['gpt-4o', 'gpt-4o-mini', 'claude-3-haiku', 'Gpt', 'gpt.4', 'gpt:4', 'gpt_4', 'gpt-4', 'a.b', 'A-b'];
    const seed = Array.from({ length: 150 }, (_, i) => ({
      provider: ['openai', 'anthropic', 'acme', 'zeta'][i % 4] as string,
      model: `${models[i % models.length] as string}${i < 40 ? '' : `-m${String(i).padStart(3, '0')}`}`,
      tier: ['standard', 'batch', 'flex', 'priority'][Math.floor(i / 4) % 4] as string,
      from: i % 3 === 0 ? '1970-01-01' : `2025-0${1 + (i % 9)}-15`,
    }));
    const unique = [...new Map(seed.map((s) => [`${s.provider}|${s.model}|${s.tier}|${s.from}`, s])).values()];
    await testDb().query(
      `INSERT INTO llm_prices (org_id, provider, model, service_tier, effective_from, input, output)
       SELECT $1, p, m, t, f::date, 1, 2 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS x(p, m, t, f)`,
      [walker.orgId, unique.map((s) => s.provider), unique.map((s) => s.model), unique.map((s) => s.tier), unique.map((s) => s.from)],
    );
    const expected = [
      ...CATALOGUE_ENTRIES.map((c) => [c.provider, c.model, c.service_tier, c.effective_from, 'catalogue'].join('\u0000')),
      ...unique.map((s) => [s.provider, s.model, s.tier, s.from, 'org'].join('\u0000')),
    ];

    // Between pages, add entries both before the cursor (provider a0new…) and after it (zz9new…).
    const { items } = await walk(walker, '/v1/pricing', 7, async (page) => {
      await as(walker, 'PUT', `/v1/pricing/a0new/m${page}`, prices('1', '1'));
      await as(walker, 'PUT', `/v1/pricing/zz9new/m${page}`, prices('1', '1'));
    });

    const keys = items.map(keyOf);
    expect(new Set(keys).size).toBe(keys.length); // no entry twice
    const original = keys.filter((k) => !k.startsWith('a0new\u0000') && !k.startsWith('zz9new\u0000'));
    expect(inKeyOrder(original)).toEqual(inKeyOrder(expected)); // every original entry, once
    expect(keys).toEqual(inKeyOrder(keys)); // pages come in key order
  });

  it.each([
    ['limit 501', '?limit=501', 'limit'],
    ['limit 0', '?limit=0', 'limit'],
    ['a fractional limit', '?limit=1.5', 'limit'],
    ['an unknown parameter', '?sort=model', 'sort'],
    ['a bad provider filter', '?provider=OpenAI', 'provider'],
    ['a bad model filter', `?model=${encodeURIComponent('gpt/4o')}`, 'model'],
    ['an unknown source', '?source=everything', 'source'],
  ])('answers %s with 400 naming the parameter', async (_name, query, field) => {
    const res = await api('GET', `/v1/pricing${query}`);

    expect(res.status).toBe(400);
    expect(JSON.stringify((res.body as ErrorBody).error.details)).toContain(field);
  });

  it('accepts limit 500', async () => {
    expect((await api('GET', '/v1/pricing?limit=500')).status).toBe(200);
  });

  it.each([
    ['a changed character', (c: string) => `${c.slice(0, -3)}${c.at(-3) === 'A' ? 'B' : 'A'}${c.slice(-2)}`],
    ['a changed payload', (c: string) => c.replace(/^v1\.[^.]+/, `v1.${Buffer.from('["zzz","zzz","standard","1970-01-01","org"]').toString('base64url')}`)],
    ['another version tag', (c: string) => c.replace(/^v1\./, 'v2.')],
    ['garbage', () => 'not-a-cursor'],
  ])('refuses a cursor with %s as 400 INVALID_ARGUMENT naming cursor', async (_name, tamper) => {
    const first = await api('GET', '/v1/pricing?provider=openai&limit=1');
    const cursor = (first.body as Page).next_cursor as string;

    const res = await api('GET', `/v1/pricing?provider=openai&limit=1&cursor=${encodeURIComponent(tamper(cursor))}`);

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: [{ path: 'cursor' }] } });
  });

  it.each([
    ['provider', '?provider=anthropic'],
    ['model', '?provider=openai&model=gpt-4o'],
    ['source', '?provider=openai&source=catalogue'],
  ])('refuses a cursor issued for another %s filter', async (_name, other) => {
    const first = await api('GET', '/v1/pricing?provider=openai&limit=1');
    const cursor = (first.body as Page).next_cursor as string;

    const res = await api('GET', `/v1/pricing${other}&limit=1&cursor=${encodeURIComponent(cursor)}`);

    expect(res.status).toBe(400);
  });

  it('shows a write in the very next list on the same instance, although the list is cached', async () => {
    const list = async (): Promise<string[]> => ((await api('GET', '/v1/pricing?provider=cachetest')).body as Page).items.map((e) => e.prices_per_mtok_usd.input);
    expect(await list()).toEqual([]);
    expect(await list()).toEqual([]); // now certainly served from the cache

    await api('PUT', '/v1/pricing/cachetest/m1', prices('1', '2'));
    const afterPut = await list();
    await api('PUT', '/v1/pricing/cachetest/m1', prices('3', '4'));
    const afterUpdate = await list();
    await api('DELETE', '/v1/pricing/cachetest/m1');
    const afterDelete = await list();

    expect(afterPut).toEqual(['1']);
    expect(afterUpdate).toEqual(['3']);
    expect(afterDelete).toEqual([]);
  });

  it('serves repeated lists from the cache, and the hit rate shows in the cache stats', async () => {
    await api('PUT', '/v1/pricing/statstest/m1', prices('1', '1'));
    const before = pricingCacheStats();

    for (let i = 0; i < 10; i += 1) expect((await api('GET', '/v1/pricing?provider=statstest&limit=7')).status).toBe(200);
    const after = pricingCacheStats();

    expect(after.misses - before.misses).toBe(1);
    expect(after.hits - before.hits).toBe(9);
    expect(after.hitRate).toBeGreaterThan(0);
    expect(after.size).toBeGreaterThan(0);
  });

  it('answers without a key with 401', async () => {
    expect((await documentedFetch(`${fn.url}/v1/pricing`)).status).toBe(401);
    expect((await documentedFetch(`${fn.url}/v1/pricing/resolve?provider=openai&model=gpt-4o&date=2025-01-01`)).status).toBe(401);
  });
});

describe('PUT and DELETE /v1/pricing/{provider}/{model}', () => {
  it('stores exact decimals and answers them as sent, without trailing zeros, in the PUT, the database and the list', async () => {
    const res = await api('PUT', '/v1/pricing/exact/tiny', prices('0.0000000001', 1234.5, { cached_input: '2.50', input_audio: '0' }));

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      provider: 'exact',
      model: 'tiny',
      match: 'snapshots',
      service_tier: 'standard',
      effective_from: '1970-01-01',
      prices_per_mtok_usd: { input: '0.0000000001', output: '1234.5', cached_input: '2.5', input_audio: '0' },
      source: 'org',
      updated_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
    const { rows } = await testDb().query(`SELECT input::text, output::text, cached_input::text, output_audio FROM llm_prices WHERE org_id = $1 AND provider = 'exact'`, [org.orgId]);
    expect(rows).toEqual([{ input: '0.0000000001', output: '1234.5000000000', cached_input: '2.5000000000', output_audio: null }]);
    const listed = ((await api('GET', '/v1/pricing?provider=exact')).body as Page).items;
    expect(listed.map((e) => e.prices_per_mtok_usd)).toEqual([{ input: '0.0000000001', output: '1234.5', cached_input: '2.5', input_audio: '0' }]);
  });

  it('reads JSON numbers through their shortest text, exactly (0.3 is "0.3", never 0.299999…)', async () => {
    const res = await api('PUT', '/v1/pricing/exact/numbers', prices(3, 15, { cached_input: 0.3, cache_write_5m: 3.75, cache_write_1h: 1e9 }));

    expect(res.status).toBe(200);
    expect((res.body as PriceEntry).prices_per_mtok_usd).toEqual({ input: '3', output: '15', cached_input: '0.3', cache_write_5m: '3.75', cache_write_1h: '1000000000' });
  });

  it('replaces the entry of the same (provider, model, tier, effective_from): match changes, a class left out is cleared, one row stays', async () => {
    await api('PUT', '/v1/pricing/exact/replace', prices('1', '2', { cached_input: '0.5' }));

    const res = await api('PUT', '/v1/pricing/exact/replace', { match: 'exact', ...prices('1.5', '2') });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ match: 'exact', prices_per_mtok_usd: { input: '1.5', output: '2' } });
    expect((res.body as PriceEntry).prices_per_mtok_usd.cached_input).toBeUndefined();
    const { rows } = await testDb().query(`SELECT count(*)::int AS n FROM llm_prices WHERE org_id = $1 AND model = 'replace'`, [org.orgId]);
    expect(rows[0]).toEqual({ n: 1 });
  });

  it('keeps entries of other tiers and dates apart, and DELETE removes only the one its query names', async () => {
    await api('PUT', '/v1/pricing/exact/dated', prices('1', '1'));
    await api('PUT', '/v1/pricing/exact/dated', { effective_from: '2025-03-15', ...prices('2', '2') });
    await api('PUT', '/v1/pricing/exact/dated', { service_tier: 'batch', ...prices('0.5', '0.5') });
    const listed = async (): Promise<string[]> =>
      ((await api('GET', '/v1/pricing?provider=exact&model=dated')).body as Page).items.map((e) => `${e.service_tier}@${e.effective_from}=${e.prices_per_mtok_usd.input}`);
    expect(await listed()).toEqual(['batch@1970-01-01=0.5', 'standard@1970-01-01=1', 'standard@2025-03-15=2']);

    const dated = await api('DELETE', '/v1/pricing/exact/dated?effective_from=2025-03-15');
    const again = await api('DELETE', '/v1/pricing/exact/dated?effective_from=2025-03-15');
    const batch = await api('DELETE', '/v1/pricing/exact/dated?service_tier=batch');

    expect(dated.status).toBe(204);
    expect(again.status).toBe(404);
    expect(again.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect(batch.status).toBe(204);
    expect(await listed()).toEqual(['standard@1970-01-01=1']);
    expect((await api('DELETE', '/v1/pricing/exact/dated')).status).toBe(204);
    expect(await listed()).toEqual([]);
  });

  it('decodes a percent-encoded model name from the path', async () => {
    const res = await api('PUT', `/v1/pricing/anthropic/${encodeURIComponent('claude-3.5:sonnet')}`, prices('3', '15'));

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ provider: 'anthropic', model: 'claude-3.5:sonnet' });
  });

  it.each([
    ['11 decimals', prices('0.00000000001', '1'), 'prices_per_mtok_usd.input', 'at most 10 decimals'],
    ['11 decimals as a number (its text is an exponent form)', prices(1, 0.00000000001), 'prices_per_mtok_usd.output', 'exponent'],
    ['a negative number', prices(-1, '1'), 'prices_per_mtok_usd.input', 'at least 0'],
    ['a negative string', prices('1', '-0.5'), 'prices_per_mtok_usd.output', 'at least 0'],
    ['an exponent string', prices('1e-7', '1'), 'prices_per_mtok_usd.input', 'exponent'],
    ['a price above 1e9', prices('1000000000.0000000001', '1'), 'prices_per_mtok_usd.input', 'at most 1000000000'],
    ['a number above 1e9', prices(1, 2e9), 'prices_per_mtok_usd.output', 'at most 1000000000'],
    ['a price that is not a decimal', prices('1,5', '1'), 'prices_per_mtok_usd.input', 'decimal'],
    ['a price that is a boolean', prices(true, '1'), 'prices_per_mtok_usd.input', 'decimal'],
    ['an unknown price class', prices('1', '1', { reasoning: '2' }), 'prices_per_mtok_usd.reasoning', 'not a known field'],
    ['a missing output price', { prices_per_mtok_usd: { input: '1' } }, 'prices_per_mtok_usd.output', ''],
    ['an unknown field', { ...prices('1', '1'), currency: 'EUR' }, 'currency', 'not a known field'],
    ['an unknown tier', { service_tier: 'scale', ...prices('1', '1') }, 'service_tier', ''],
    ['an unknown match mode', { match: 'prefix', ...prices('1', '1') }, 'match', ''],
    ['a date that does not exist', { effective_from: '2025-02-30', ...prices('1', '1') }, 'effective_from', ''],
    ['the old per-1k body', { input_per_1k_usd: 1, output_per_1k_usd: 1 }, 'input_per_1k_usd', 'not a known field'],
  ])('refuses %s with 400 naming the field', async (_name, body, field, message) => {
    const res = await api('PUT', '/v1/pricing/refused/m1', body);

    expect(res.status).toBe(400);
    const detail = (res.body as ErrorBody).error.details.find((d) => d.path === field);
    expect(detail?.message).toContain(message);
    const { rows } = await testDb().query(`SELECT count(*)::int AS n FROM llm_prices WHERE org_id = $1 AND provider = 'refused'`, [org.orgId]);
    expect(rows[0]).toEqual({ n: 0 });
  });

  it('refuses 1e309 (Infinity once parsed) in raw JSON with 400', async () => {
    const res = await documentedFetch(`${fn.url}/v1/pricing/openai/gpt-4o`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${org.apiKey}`, 'content-type': 'application/json' },
      body: '{"prices_per_mtok_usd":{"input":1e309,"output":1}}',
    });

    expect(res.status).toBe(400);
  });

  it('refuses an invalid provider or model in the path, and an unknown DELETE parameter, with 400', async () => {
    const badProvider = await api('PUT', '/v1/pricing/Open%20AI/gpt-4o', prices('1', '1'));
    const badModel = await api('PUT', `/v1/pricing/openai/${encodeURIComponent('gpt/4o')}`, prices('1', '1'));
    const badDelete = await api('DELETE', '/v1/pricing/openai/gpt-4o?tier=batch');
    const badDate = await api('DELETE', '/v1/pricing/openai/gpt-4o?effective_from=yesterday');

    expect([badProvider.status, badModel.status, badDelete.status, badDate.status]).toEqual([400, 400, 400, 400]);
  });
});

describe('GET /v1/pricing/resolve', () => {
  it('resolves a dated snapshot (gpt-4o-mini-2024-07-18) to the catalogue gpt-4o-mini entry, never to gpt-4o', async () => {
    const res = await resolve(org, 'provider=openai&model=gpt-4o-mini-2024-07-18&date=2025-06-01');

    expect(res.status).toBe(200);
    const body = res.body as Resolved;
    expect(body.entry).toMatchObject({ source: 'catalogue', provider: 'openai', model: 'gpt-4o-mini', service_tier: 'standard' });
    expect(body.multiplier).toBeNull();
    expect(body.per_class).toEqual({
      input: '0.15',
      output: '0.6',
      cached_input: '0.075',
      cache_write_5m: null,
      cache_write_1h: null,
      input_audio: null,
      output_audio: null,
      input_image: null,
    });
  });

  it("never prices a longer model id with a shorter entry's price: an org's gpt-4o entry leaves gpt-4o-mini-2024-07-18 to the catalogue", async () => {
    const fresh = await createTenant({ slugPrefix: 'priceprefix' });
    await as(fresh, 'PUT', '/v1/pricing/openai/gpt-4o', prices('9', '9'));
    await as(fresh, 'PUT', '/v1/pricing/acme/m1', prices('9', '9'));

    const snapshot = await resolve(fresh, 'provider=openai&model=gpt-4o-mini-2024-07-18&date=2025-06-01');
    const ownOnly = await resolve(fresh, 'provider=acme&model=m1-mini-2024-07-18&date=2025-06-01');

    expect((snapshot.body as Resolved).entry).toMatchObject({ source: 'catalogue', model: 'gpt-4o-mini' });
    expect(ownOnly.status).toBe(404);
    expect((ownOnly.body as ErrorBody).error).toMatchObject({ code: 'NOT_FOUND', message: 'No price entry matches acme/m1-mini-2024-07-18' });
  });

  it('prefers an org entry over the catalogue, and shows the change at once', async () => {
    const fresh = await createTenant({ slugPrefix: 'priceorg' });
    const before = await resolve(fresh, 'provider=openai&model=gpt-4o-mini-2024-07-18&date=2025-06-01');

    await as(fresh, 'PUT', '/v1/pricing/openai/gpt-4o-mini', prices('0.1', '0.4'));
    const after = await resolve(fresh, 'provider=openai&model=gpt-4o-mini-2024-07-18&date=2025-06-01');

    expect((before.body as Resolved).entry.source).toBe('catalogue');
    expect((after.body as Resolved).entry).toMatchObject({ source: 'org', model: 'gpt-4o-mini', prices_per_mtok_usd: { input: '0.1', output: '0.4' } });
    // The org entry has no cached_input price: cached tokens are unpriced, never priced at the catalogue's rate.
    expect((after.body as Resolved).per_class).toMatchObject({ input: '0.1', output: '0.4', cached_input: null });
  });

  it('applies an entry effective from the 15th to the 15th, and not to the 14th', async () => {
    const fresh = await createTenant({ slugPrefix: 'pricedate' });
    await as(fresh, 'PUT', '/v1/pricing/acme/dated', { effective_from: '2025-03-15', ...prices('2', '2') });

    const on14 = await resolve(fresh, 'provider=acme&model=dated&date=2025-03-14');
    const on15 = await resolve(fresh, 'provider=acme&model=dated&date=2025-03-15');
    await as(fresh, 'PUT', '/v1/pricing/acme/dated', prices('1', '1'));
    const on14WithOlder = await resolve(fresh, 'provider=acme&model=dated&date=2025-03-14');

    expect(on14.status).toBe(404);
    expect((on14.body as ErrorBody).error.message).toBe('No price for acme/dated (standard) is in force on 2025-03-14');
    expect(on15.status).toBe(200);
    expect((on15.body as Resolved).per_class.input).toBe('2');
    expect((on14WithOlder.body as Resolved).entry.effective_from).toBe('1970-01-01');
    expect((on14WithOlder.body as Resolved).per_class.input).toBe('1');
  });

  it('prices batch without an entry of its own as standard × 0.5, and says so', async () => {
    const res = await resolve(org, 'provider=anthropic&model=claude-sonnet-4-5-20250929&service_tier=batch&date=2025-10-01');

    expect(res.status).toBe(200);
    const body = res.body as Resolved;
    expect(body.entry).toMatchObject({ source: 'catalogue', model: 'claude-sonnet-4-5', service_tier: 'standard' });
    expect(body.multiplier).toBe('0.5');
    expect(body.per_class).toMatchObject({ input: '1.5', output: '7.5', cached_input: '0.15', cache_write_5m: '1.875', cache_write_1h: '3' });
  });

  it('uses a tier entry of its own over standard × multiplier (OpenAI priority)', async () => {
    const res = await resolve(org, 'provider=openai&model=gpt-5-2025-08-07&service_tier=priority&date=2025-10-01');

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ entry: { model: 'gpt-5', service_tier: 'priority' }, multiplier: null });
  });

  it.each([
    ['an unknown model', 'provider=openai&model=no-such-model&date=2025-01-01', 'No price entry matches openai/no-such-model'],
    ['a tier with neither an entry nor a multiplier', 'provider=anthropic&model=claude-sonnet-4-5&service_tier=priority&date=2025-01-01', 'the catalogue has no priority multiplier for anthropic'],
  ])('answers %s with 404 NOT_FOUND saying why', async (_name, query, reason) => {
    const res = await resolve(org, query);

    expect(res.status).toBe(404);
    expect((res.body as ErrorBody).error.code).toBe('NOT_FOUND');
    expect((res.body as ErrorBody).error.message).toContain(reason);
  });

  it.each([
    ['no date', 'provider=openai&model=gpt-4o', 'date'],
    ['a date that does not exist', 'provider=openai&model=gpt-4o&date=2025-02-29', 'date'],
    ['an unknown tier', 'provider=openai&model=gpt-4o&date=2025-01-01&service_tier=scale', 'service_tier'],
    ['no model', 'provider=openai&date=2025-01-01', 'model'],
    ['an unknown parameter', 'provider=openai&model=gpt-4o&date=2025-01-01&source=org', 'source'],
  ])('answers %s with 400 naming the parameter', async (_name, query, field) => {
    const res = await resolve(org, query);

    expect(res.status).toBe(400);
    expect(JSON.stringify((res.body as ErrorBody).error.details)).toContain(field);
  });
});

describe('pricing across tenants', () => {
  it("never shows, resolves or deletes another org's entries", async () => {
    const a = await createTenant({ slugPrefix: 'pricetena' });
    const b = await createTenant({ slugPrefix: 'pricetenb' });
    await as(b, 'PUT', '/v1/pricing/acme/secret', prices('7', '7'));
    await as(b, 'PUT', '/v1/pricing/openai/gpt-4o-mini', prices('0.01', '0.01'));

    const listed = await as(a, 'GET', '/v1/pricing?limit=500');
    const orgOnly = await as(a, 'GET', '/v1/pricing?source=org');
    const secret = await resolve(a, 'provider=acme&model=secret&date=2025-01-01');
    const mini = await resolve(a, 'provider=openai&model=gpt-4o-mini&date=2025-01-01');
    const deleted = await as(a, 'DELETE', '/v1/pricing/acme/secret');

    expect(listed.text).not.toContain('secret');
    expect((orgOnly.body as Page).items).toEqual([]);
    expect(secret.status).toBe(404);
    expect((mini.body as Resolved).entry.source).toBe('catalogue');
    expect(deleted.status).toBe(404);
    expect((await resolve(b, 'provider=acme&model=secret&date=2025-01-01')).status).toBe(200);
  });
});

describe('pricing cache', () => {
  const page = (input: string): PricingPage => ({
    items: [{ provider: 'p', model: 'm', match: 'snapshots', service_tier: 'standard', effective_from: '1970-01-01', prices_per_mtok_usd: { input, output: input }, source: 'org' }],
    next_cursor: null,
  });

  it('does not keep a page whose load was running when a write invalidated the tenant', async () => {
    const cache = new PricingCache({ ttlMs: 60_000, maxEntries: 10, maxEntriesPerTenant: 10, maxBytes: 1_000_000 });
    let release: (value: PricingPage) => void = () => undefined;
    const slow = cache.page('org-1', 'q', () => new Promise<PricingPage>((resolve) => (release = resolve)));

    cache.invalidate('org-1'); // the write lands while the old read is still running
    release(page('1'));
    await slow;
    const next = await cache.page('org-1', 'q', async () => page('2'));

    expect((JSON.parse(next.text) as PricingPage).items[0]?.prices_per_mtok_usd.input).toBe('2');
  });

  it("keeps one tenant's pages out of another's reach for the same query key", async () => {
    const cache = new PricingCache({ ttlMs: 60_000, maxEntries: 10, maxEntriesPerTenant: 10, maxBytes: 1_000_000 });
    await cache.page('org-a', 'q', async () => page('1'));

    const forB = await cache.page('org-b', 'q', async () => page('2'));

    expect((JSON.parse(forB.text) as PricingPage).items[0]?.prices_per_mtok_usd.input).toBe('2');
  });

  it('bounds its pages by bytes: the least recently active tenant loses pages first, and the total never passes the cap', async () => {
    const onePage = new SerializedJson(page('1')).text.length;
    const cache = new PricingCache({ ttlMs: 60_000, maxEntries: 1_000, maxEntriesPerTenant: 100, maxBytes: onePage * 5 });

    for (let i = 0; i < 4; i += 1) await cache.page('org-old', `q${i}`, async () => page('1'));
    for (let i = 0; i < 4; i += 1) await cache.page('org-new', `q${i}`, async () => page('1'));

    const stats = cache.stats();
    expect(stats.bytes).toBeLessThanOrEqual(onePage * 5);
    expect(stats.size).toBe(5);
    expect(stats.evictions).toBe(3);
    // The newer tenant kept all of its pages: a hit, not a load.
    let loads = 0;
    for (let i = 0; i < 4; i += 1) {
      await cache.page('org-new', `q${i}`, async () => {
        loads += 1;
        return page('1');
      });
    }
    expect(loads).toBe(0);
  });
});

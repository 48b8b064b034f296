import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalFileKek } from '../../shared/crypto/index.js';
import { call, closeFunctionRuntime, closeTestDb, createTenant, serveFunction, testDb, type ServedFunction, type TestTenant } from '../helpers/tenants.js';

// All three functions in one process, as tests only do (each deploys alone). Env first.
const keyDir = mkdtempSync(path.join(tmpdir(), 'cloudact-kek-'));
process.env.KEK_FILE = path.join(keyDir, 'kek.b64');
writeFileSync(process.env.KEK_FILE, LocalFileKek.generateKeyFileContent(), { mode: 0o600 });
delete process.env.KMS_KEY_NAME;

await import('../../functions/subscriptions/index.js');
const { pricingCacheStats } = await import('../../functions/pricing/index.js');
await import('../../functions/integrations/index.js');

let pricing: ServedFunction;
let subscriptions: ServedFunction;
let integrations: ServedFunction;
let a: TestTenant;
let b: TestTenant;
/** Org B's subscription ids (first one is used for the by-id calls). */
let bSubscriptionIds: string[];

const subscription = (vendor: string): Record<string, unknown> => ({
  vendor,
  plan_name: 'Team',
  seats: 3,
  unit_price_usd: 8,
  billing_cycle: 'monthly',
  start_date: '2024-01-01',
});

/** A price entry body (standard tier, in force since always) with both prices `usd` per 1M tokens. */
const price = (usd: string): Record<string, unknown> => ({ prices_per_mtok_usd: { input: usd, output: usd } });

/** Rows of every resource for an org, each marked with the org's slug so leaks are visible. */
async function seed(tenant: TestTenant): Promise<string[]> {
  const mark = tenant.orgSlug;
  expect((await call(pricing.url, tenant.apiKey, 'PUT', `/v1/pricing/shared/${mark}`, price('1'))).status).toBe(200);
  // The same (provider, model) in both orgs: each must keep its own price.
  const own = tenant === a ? '1' : '9';
  expect((await call(pricing.url, tenant.apiKey, 'PUT', '/v1/pricing/openai/gpt-4o', price(own))).status).toBe(200);
  const ids: string[] = [];
  for (let i = 0; i < 3; i += 1) {
    const res = await call(subscriptions.url, tenant.apiKey, 'POST', '/v1/subscriptions', subscription(`${mark}-${i}`));
    expect(res.status).toBe(201);
    ids.push((res.body as { id: string }).id);
  }
  expect((await call(subscriptions.url, tenant.apiKey, 'POST', '/v1/subscriptions/bulk', { items: [subscription(`${mark}-bulk`)] })).status).toBe(200);
  expect((await call(integrations.url, tenant.apiKey, 'PUT', `/v1/integrations/only-${tenant === a ? 'a' : 'b'}`, { credential: `${mark}-credential-value-xyz` })).status).toBe(200);
  expect((await call(integrations.url, tenant.apiKey, 'PUT', '/v1/integrations/openai', { credential: `${mark}-openai-credential-abc` })).status).toBe(200);
  return ids;
}

beforeAll(async () => {
  subscriptions = await serveFunction('subscriptions');
  pricing = await serveFunction('pricing');
  integrations = await serveFunction('integrations');
  a = await createTenant({ slugPrefix: 'iso_a' });
  b = await createTenant({ slugPrefix: 'iso_b' });
  await seed(a);
  bSubscriptionIds = await seed(b);
});

afterAll(async () => {
  await Promise.all([pricing.close(), subscriptions.close(), integrations.close()]);
  await closeTestDb();
  await closeFunctionRuntime();
  // The key file is secret material: it does not outlive the run.
  rmSync(keyDir, { recursive: true, force: true });
});

/** A snapshot of everything org B owns, to prove A's calls changed none of it. */
async function snapshotOfB(): Promise<unknown> {
  const db = testDb();
  const [p, s, i] = await Promise.all([
    db.query(
      `SELECT provider, model, service_tier, effective_from::text, match, input::text, output::text, updated_at FROM llm_prices WHERE org_id = $1 ORDER BY 1, 2, 3, 4`,
      [b.orgId],
    ),
    db.query(`SELECT id, vendor, plan_name, seats, unit_price_usd::text, status, updated_at FROM subscriptions WHERE org_id = $1 ORDER BY id`, [b.orgId]),
    db.query(`SELECT provider, status, fingerprint, encode(ciphertext, 'hex') AS c, updated_at FROM integrations WHERE org_id = $1 ORDER BY 1`, [b.orgId]),
  ]);
  return { pricing: p.rows, subscriptions: s.rows, integrations: i.rows };
}

describe('tenant isolation', () => {
  it.each([
    ['GET a subscription', 'subscriptions', 'GET', () => `/v1/subscriptions/${bSubscriptionIds[0]}`, undefined],
    ['PATCH a subscription', 'subscriptions', 'PATCH', () => `/v1/subscriptions/${bSubscriptionIds[0]}`, { seats: 99 }],
    ['DELETE a subscription', 'subscriptions', 'DELETE', () => `/v1/subscriptions/${bSubscriptionIds[1]}`, undefined],
    ['DELETE a price only B has', 'pricing', 'DELETE', () => `/v1/pricing/shared/${b.orgSlug}`, undefined],
    ['GET the resolved price of a model only B prices', 'pricing', 'GET', () => `/v1/pricing/resolve?provider=shared&model=${b.orgSlug}&date=2025-01-01`, undefined],
    ['DELETE an integration only B has', 'integrations', 'DELETE', () => '/v1/integrations/only-b', undefined],
  ])("answers org A's key on org B's resource with 404, never 403: %s", async (_name, fnName, method, pathOf, body) => {
    const base = { pricing, subscriptions, integrations }[fnName as 'pricing' | 'subscriptions' | 'integrations'].url;
    const before = await snapshotOfB();

    const res = await call(base, a.apiKey, method, pathOf(), body);

    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect(await snapshotOfB()).toEqual(before);
  });

  it("writes org A's own row, never B's, when A PUTs a path B also has", async () => {
    const before = await snapshotOfB();

    const priced = await call(pricing.url, a.apiKey, 'PUT', '/v1/pricing/openai/gpt-4o', price('2'));
    const stored = await call(integrations.url, a.apiKey, 'PUT', '/v1/integrations/openai', { credential: `${a.orgSlug}-openai-credential-def` });

    expect(priced.status).toBe(200);
    expect(stored.status).toBe(200);
    expect(await snapshotOfB()).toEqual(before);
  });

  it.each([
    ['pricing', '/v1/pricing?limit=500'],
    ['pricing', '/v1/pricing?source=org&limit=500'],
    ['subscriptions', '/v1/subscriptions?limit=500'],
    ['subscriptions', '/v1/subscriptions?status=active&limit=500'],
    ['integrations', '/v1/integrations'],
  ])("never lists another org's rows: %s %s", async (fnName, listPath) => {
    const base = { pricing, subscriptions, integrations }[fnName as 'pricing' | 'subscriptions' | 'integrations'].url;

    const forA = await call(base, a.apiKey, 'GET', listPath);
    const forB = await call(base, b.apiKey, 'GET', listPath);

    expect(forA.status).toBe(200);
    expect(forB.status).toBe(200);
    expect((forA.body as { items: unknown[] }).items.length).toBeGreaterThan(0);
    expect(forA.text).not.toContain(b.orgSlug);
    expect(forB.text).not.toContain(a.orgSlug);
  });

  it("never serves org A's cached page to org B for the identical request, both cached", async () => {
    // The org's own entry only (the shared catalogue is the same for both).
    const listPath = '/v1/pricing?provider=openai&model=gpt-4o&source=org';
    const first = { a: await call(pricing.url, a.apiKey, 'GET', listPath), b: await call(pricing.url, b.apiKey, 'GET', listPath) };
    const before = pricingCacheStats();

    const second = { a: await call(pricing.url, a.apiKey, 'GET', listPath), b: await call(pricing.url, b.apiKey, 'GET', listPath) };
    const after = pricingCacheStats();

    expect(after.hits - before.hits).toBe(2); // both second reads came from the cache …
    expect(second.a.body).toEqual(first.a.body); // … each from its own tenant's entry
    expect(second.b.body).toEqual(first.b.body);
    const priceOf = (body: unknown): string | undefined => (body as { items: { prices_per_mtok_usd: { input: string } }[] }).items[0]?.prices_per_mtok_usd.input;
    expect(priceOf(second.a.body)).toBe('2');
    expect(priceOf(second.b.body)).toBe('9');
  });

  it("keeps org A's cached pages when org B writes (invalidation is per tenant)", async () => {
    const listPath = '/v1/pricing?limit=20';
    await call(pricing.url, a.apiKey, 'GET', listPath);
    await call(pricing.url, b.apiKey, 'PUT', '/v1/pricing/other/model-x', price('1'));
    const before = pricingCacheStats();

    const res = await call(pricing.url, a.apiKey, 'GET', listPath);

    expect(pricingCacheStats().hits - before.hits).toBe(1);
    expect(res.text).not.toContain('model-x');
  });

  it("refuses org A's cursor in org B's hands with 400 (a cursor is bound to its org)", async () => {
    const cursorOf = async (base: string, listPath: string): Promise<string> =>
      ((await call(base, a.apiKey, 'GET', listPath)).body as { next_cursor: string }).next_cursor;
    const pricingCursor = await cursorOf(pricing.url, '/v1/pricing?limit=1');
    const subscriptionCursor = await cursorOf(subscriptions.url, '/v1/subscriptions?limit=1');

    const p = await call(pricing.url, b.apiKey, 'GET', `/v1/pricing?limit=1&cursor=${encodeURIComponent(pricingCursor)}`);
    const s = await call(subscriptions.url, b.apiKey, 'GET', `/v1/subscriptions?limit=1&cursor=${encodeURIComponent(subscriptionCursor)}`);

    expect(p.status).toBe(400);
    expect(s.status).toBe(400);
  });
});

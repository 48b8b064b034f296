import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localBigQueryOptions, startBigQueryEndpoint } from '../../dev/bigquery/index.js';
import { centralDataset, ensureDatasetDefinition, orgDataset, orgDatasetId } from '../../shared/analytics/index.js';
import { LocalFileKek } from '../../shared/crypto/index.js';
import { getDb } from '../../shared/db/index.js';
import { queueRun } from '../../shared/pipelines/index.js';
import { call, closeFunctionRuntime, closeTestDb, createTenant, serveFunction, testDb, type ServedFunction, type TestTenant } from '../helpers/tenants.js';

/*
 * Org A's key against everything org B owns, across all eight HTTP functions served in one
 * process (as only tests do; each deploys alone): by id it is 404, never 403, and changes
 * nothing of B's; in lists, totals and caches B's rows never appear.
 */

// Env first: the functions read their configuration when their modules load.
const keyDir = mkdtempSync(path.join(tmpdir(), 'cloudact-kek-'));
process.env.KEK_FILE = path.join(keyDir, 'kek.b64');
writeFileSync(process.env.KEK_FILE, LocalFileKek.generateKeyFileContent(), { mode: 0o600 });
delete process.env.KMS_KEY_NAME;
// Costs, budget status and the audit trail read BigQuery; orgs needs its settings at load.
const bigQueryEndpoint = await startBigQueryEndpoint({ port: 0 });
process.env.BIGQUERY_API_ENDPOINT = bigQueryEndpoint.url;
process.env.GOOGLE_CLOUD_PROJECT = 'local-project';
process.env.ADMIN_TOKEN = `adm_${randomBytes(24).toString('base64url')}`;
// Budgets refuse loopback webhooks unless told; nothing is ever delivered here.
process.env.WEBHOOK_ALLOW_LOOPBACK_HTTP = 'true';
const bigquery = new BigQuery(localBigQueryOptions(bigQueryEndpoint.url, 'local-project'));
// EU: BIGQUERY_LOCATION's default, where onboarding expects the datasets to be.
await ensureDatasetDefinition(bigquery, centralDataset(), { location: 'EU' });

await import('../../functions/subscriptions/index.js');
const { pricingCacheStats } = await import('../../functions/pricing/index.js');
await import('../../functions/integrations/index.js');
await import('../../functions/orgs/index.js');
await import('../../functions/quota/index.js');
await import('../../functions/costs/index.js');
await import('../../functions/pipelines/index.js');
await import('../../functions/budgets/index.js');

const FUNCTIONS = ['pricing', 'subscriptions', 'integrations', 'orgs', 'quota', 'costs', 'pipelines', 'budgets'] as const;
type FunctionName = (typeof FUNCTIONS)[number];
const served = {} as Record<FunctionName, ServedFunction>;
const urlOf = (fnName: string): string => served[fnName as FunctionName].url;

let a: TestTenant;
let b: TestTenant;

/** What each org owns beyond its rows marked with its slug: ids to aim at, and to look for. */
interface Owned {
  subscriptionIds: string[];
  budgetIds: string[];
  alertIds: string[];
  runIds: string[];
  /** A second API key, beside the one the tenant calls with. */
  extraKeyId: string;
}
const owned = new Map<TestTenant, Owned>();
const ownedBy = (tenant: TestTenant): Owned => owned.get(tenant) as Owned;

/** The day of the seeded LLM usage: today, so budget status (this month) counts it. */
const today = new Date().toISOString().slice(0, 10);
/** LLM spend per org on that day: distinct, so a leak shows in the totals. */
const llmCost = (tenant: TestTenant): string => (tenant === a ? '1.5' : '7');

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

const budget = (name: string): Record<string, unknown> => ({ name, amount_usd: 100, period: 'month', scope: { category: 'llm' }, webhook_url: 'http://127.0.0.1:9/hook' });

/** One day of LLM usage in the org's own dataset, as a pipeline loads it. */
async function insertUsage(tenant: TestTenant): Promise<void> {
  await ensureDatasetDefinition(bigquery, orgDataset(tenant.orgSlug), { location: 'EU' });
  await bigquery.query({
    query: `INSERT INTO \`${orgDatasetId(tenant.orgSlug)}.llm_usage_daily\` (usage_date, org_slug, provider, model, requests, input_tokens, output_tokens, cost_usd, loaded_at, source)
            VALUES (@day, @org, 'openai', @model, 1, 0, 0, CAST(@cost AS NUMERIC), CURRENT_TIMESTAMP(), 'openai_usage_daily')`,
    params: { day: BigQuery.date(today), org: tenant.orgSlug, model: `model-${tenant.orgSlug}`, cost: llmCost(tenant) },
  });
}

/** Rows of every resource for an org, each marked with the org's slug so leaks are visible. */
async function seed(tenant: TestTenant): Promise<Owned> {
  const mark = tenant.orgSlug;
  const { pricing, subscriptions, integrations, orgs, budgets } = served;
  expect((await call(pricing.url, tenant.apiKey, 'PUT', `/v1/pricing/shared/${mark}`, price('1'))).status).toBe(200);
  // The same (provider, model) in both orgs: each must keep its own price.
  const own = tenant === a ? '1' : '9';
  expect((await call(pricing.url, tenant.apiKey, 'PUT', '/v1/pricing/openai/gpt-4o', price(own))).status).toBe(200);
  const subscriptionIds: string[] = [];
  for (let i = 0; i < 3; i += 1) {
    const res = await call(subscriptions.url, tenant.apiKey, 'POST', '/v1/subscriptions', subscription(`${mark}-${i}`));
    expect(res.status).toBe(201);
    subscriptionIds.push((res.body as { id: string }).id);
  }
  expect((await call(subscriptions.url, tenant.apiKey, 'POST', '/v1/subscriptions/bulk', { items: [subscription(`${mark}-bulk`)] })).status).toBe(200);
  expect((await call(integrations.url, tenant.apiKey, 'PUT', `/v1/integrations/only-${tenant === a ? 'a' : 'b'}`, { credential: `${mark}-credential-value-xyz` })).status).toBe(200);
  expect((await call(integrations.url, tenant.apiKey, 'PUT', '/v1/integrations/openai', { credential: `${mark}-openai-credential-abc` })).status).toBe(200);

  const key = await call(orgs.url, tenant.apiKey, 'POST', '/v1/orgs/me/api-keys');
  expect(key.status).toBe(201);
  const budgetIds: string[] = [];
  for (const name of [`${mark}-budget-1`, `${mark}-budget-2`]) {
    const res = await call(budgets.url, tenant.apiKey, 'POST', '/v1/budgets', budget(name));
    expect(res.status, res.text).toBe(201);
    budgetIds.push((res.body as { id: string }).id);
  }
  // Alerts are raised by budget-alerts (not served here): the row it writes.
  const alert = await testDb().query<{ id: string }>(
    `INSERT INTO budget_alerts (id, org_id, budget_id, period_start, kind, threshold_pct, payload, webhook_url)
     VALUES (gen_random_uuid(), $1, $2, date_trunc('month', now())::date, 'threshold', 50, $3, 'http://127.0.0.1:9/hook') RETURNING id`,
    [tenant.orgId, budgetIds[0], JSON.stringify({ type: 'budget.threshold_crossed', spent_usd: 60, forecast_usd: 90 })],
  );
  // Runs queued as the trigger queues them (quota counted), unpublished: no worker runs here.
  // A gets one run today, B two, so each org's quota shows its own count.
  const runIds: string[] = [];
  const db = await getDb();
  for (const day of tenant === a ? ['2026-01-01'] : ['2026-01-01', '2026-01-02']) {
    const queued = await db.withTransaction((client) => queueRun(client, tenant.orgId, 'demo_usage_daily', day));
    if (queued.kind !== 'queued') throw new Error(`run not queued: ${queued.kind}`);
    runIds.push(queued.runId);
  }
  await insertUsage(tenant);
  return { subscriptionIds, budgetIds, alertIds: [(alert.rows[0] as { id: string }).id], runIds, extraKeyId: (key.body as { id: string }).id };
}

beforeAll(async () => {
  for (const name of FUNCTIONS) served[name] = await serveFunction(name);
  a = await createTenant({ slugPrefix: 'iso_a' });
  b = await createTenant({ slugPrefix: 'iso_b' });
  owned.set(a, await seed(a));
  owned.set(b, await seed(b));
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(served).map((fn) => fn.close()));
  await closeTestDb();
  await closeFunctionRuntime();
  await bigQueryEndpoint.close();
  // The key file is secret material: it does not outlive the run.
  rmSync(keyDir, { recursive: true, force: true });
});

/** A snapshot of everything org B owns, to prove A's calls changed none of it. */
async function snapshotOfB(): Promise<unknown> {
  const db = testDb();
  const [p, s, i, k, bu, al, r] = await Promise.all([
    db.query(
      `SELECT provider, model, service_tier, effective_from::text, match, input::text, output::text, updated_at FROM llm_prices WHERE org_id = $1 ORDER BY 1, 2, 3, 4`,
      [b.orgId],
    ),
    db.query(`SELECT id, vendor, plan_name, seats, unit_price_usd::text, status, updated_at FROM subscriptions WHERE org_id = $1 ORDER BY id`, [b.orgId]),
    db.query(`SELECT provider, status, fingerprint, encode(ciphertext, 'hex') AS c, updated_at FROM integrations WHERE org_id = $1 ORDER BY 1`, [b.orgId]),
    db.query(`SELECT id, revoked_at FROM api_keys WHERE org_id = $1 ORDER BY id`, [b.orgId]),
    db.query(`SELECT * FROM budgets WHERE org_id = $1 ORDER BY id`, [b.orgId]),
    db.query(`SELECT id, budget_id, status, attempts FROM budget_alerts WHERE org_id = $1 ORDER BY id`, [b.orgId]),
    db.query(`SELECT id, status, run_date::text FROM pipeline_runs WHERE org_id = $1 ORDER BY id`, [b.orgId]),
  ]);
  return { pricing: p.rows, subscriptions: s.rows, integrations: i.rows, apiKeys: k.rows, budgets: bu.rows, alerts: al.rows, runs: r.rows };
}

describe('tenant isolation', () => {
  const budgetOfB = (): string => ownedBy(b).budgetIds[0] as string;
  it.each([
    ['GET a subscription', 'subscriptions', 'GET', () => `/v1/subscriptions/${ownedBy(b).subscriptionIds[0]}`, undefined],
    ['PATCH a subscription', 'subscriptions', 'PATCH', () => `/v1/subscriptions/${ownedBy(b).subscriptionIds[0]}`, { seats: 99 }],
    ['DELETE a subscription', 'subscriptions', 'DELETE', () => `/v1/subscriptions/${ownedBy(b).subscriptionIds[1]}`, undefined],
    ['DELETE a price only B has', 'pricing', 'DELETE', () => `/v1/pricing/shared/${b.orgSlug}`, undefined],
    ['GET the resolved price of a model only B prices', 'pricing', 'GET', () => `/v1/pricing/resolve?provider=shared&model=${b.orgSlug}&date=2025-01-01`, undefined],
    ['DELETE an integration only B has', 'integrations', 'DELETE', () => '/v1/integrations/only-b', undefined],
    ['GET a pipeline run', 'pipelines', 'GET', () => `/v1/pipelines/runs/${ownedBy(b).runIds[0]}`, undefined],
    ['GET a budget', 'budgets', 'GET', () => `/v1/budgets/${budgetOfB()}`, undefined],
    ['PATCH a budget', 'budgets', 'PATCH', () => `/v1/budgets/${budgetOfB()}`, { name: 'stolen', amount_usd: 1 }],
    ['DELETE a budget', 'budgets', 'DELETE', () => `/v1/budgets/${budgetOfB()}`, undefined],
    ["GET a budget's status", 'budgets', 'GET', () => `/v1/budgets/${budgetOfB()}/status`, undefined],
    ["DELETE B's second API key", 'orgs', 'DELETE', () => `/v1/orgs/me/api-keys/${ownedBy(b).extraKeyId}`, undefined],
    ["DELETE the API key B calls with", 'orgs', 'DELETE', () => `/v1/orgs/me/api-keys/${b.keyId}`, undefined],
  ])("answers org A's key on org B's resource with 404, never 403: %s", async (_name, fnName, method, pathOf, body) => {
    const before = await snapshotOfB();

    const res = await call(urlOf(fnName), a.apiKey, method, pathOf(), body);

    expect(res.status, res.text).toBe(404);
    expect(res.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect(await snapshotOfB()).toEqual(before);
  });

  it("leaves B's keys working after A tried to revoke them", async () => {
    const extra = await call(served.orgs.url, a.apiKey, 'DELETE', `/v1/orgs/me/api-keys/${ownedBy(b).extraKeyId}`);
    const main = await call(served.orgs.url, a.apiKey, 'DELETE', `/v1/orgs/me/api-keys/${b.keyId}`);

    expect([extra.status, main.status]).toEqual([404, 404]);
    const me = await call(served.orgs.url, b.apiKey, 'GET', '/v1/orgs/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ org_slug: b.orgSlug });
  });

  it("writes org A's own row, never B's, when A PUTs a path B also has", async () => {
    const before = await snapshotOfB();

    const priced = await call(served.pricing.url, a.apiKey, 'PUT', '/v1/pricing/openai/gpt-4o', price('2'));
    const stored = await call(served.integrations.url, a.apiKey, 'PUT', '/v1/integrations/openai', { credential: `${a.orgSlug}-openai-credential-def` });

    expect(priced.status).toBe(200);
    expect(stored.status).toBe(200);
    expect(await snapshotOfB()).toEqual(before);
  });

  it.each([
    ['pricing', '/v1/pricing?limit=500'],
    ['pricing', '/v1/pricing?source=org&limit=500'],
    ['subscriptions', '/v1/subscriptions?limit=500'],
    ['subscriptions', '/v1/subscriptions?status=active&limit=500'],
    ['budgets', '/v1/budgets?limit=500'],
    ['orgs', '/v1/orgs/me'],
    ['quota', '/v1/quota'],
    ['costs', `/v1/costs?from=${today}&to=${today}&group_by=model`],
    ['costs', `/v1/costs?from=${today.slice(0, 8)}01&to=${today}&group_by=vendor&category=saas`],
    ['costs', `/v1/costs/export?from=${today.slice(0, 8)}01&to=${today}&format=jsonl`],
  ])("never shows another org's rows: %s %s", async (fnName, listPath) => {
    const forA = await call(urlOf(fnName), a.apiKey, 'GET', listPath);
    const forB = await call(urlOf(fnName), b.apiKey, 'GET', listPath);

    expect(forA.status, forA.text).toBe(200);
    expect(forB.status, forB.text).toBe(200);
    // Each answer shows its own org's rows (so absence of the other's means something) …
    expect(forA.text).toContain(a.orgSlug);
    expect(forB.text).toContain(b.orgSlug);
    // … and never the other org's.
    expect(forA.text).not.toContain(b.orgSlug);
    expect(forB.text).not.toContain(a.orgSlug);
  });

  it.each([
    ['pipeline runs', 'pipelines', '/v1/pipelines/runs?limit=500', (t: TestTenant) => ownedBy(t).runIds],
    ['pipeline runs of one status', 'pipelines', '/v1/pipelines/runs?status=queued&pipeline_id=demo_usage_daily', (t: TestTenant) => ownedBy(t).runIds],
    ['alerts', 'budgets', '/v1/alerts?limit=500', (t: TestTenant) => ownedBy(t).alertIds],
    ['API keys', 'orgs', '/v1/orgs/me/api-keys', (t: TestTenant) => [t.keyId, ownedBy(t).extraKeyId]],
    // Credentials never show their text, so the providers tell them apart.
    ['integrations', 'integrations', '/v1/integrations', (t: TestTenant) => ['openai', t === a ? 'only-a' : 'only-b']],
  ])("lists exactly the org's own %s, never another org's", async (_name, fnName, listPath, idsOf) => {
    const idsIn = (body: unknown): string[] =>
      (body as { items: { id?: string; run_id?: string; provider?: string }[] }).items.map((i) => i.run_id ?? i.id ?? i.provider ?? '').sort();

    const forA = await call(urlOf(fnName), a.apiKey, 'GET', listPath);
    const forB = await call(urlOf(fnName), b.apiKey, 'GET', listPath);

    expect(forA.status, forA.text).toBe(200);
    expect(forB.status, forB.text).toBe(200);
    expect(idsIn(forA.body)).toEqual([...idsOf(a)].sort());
    expect(idsIn(forB.body)).toEqual([...idsOf(b)].sort());
  });

  it("shows A no alert of B's budget, even asked by its id", async () => {
    const res = await call(served.budgets.url, a.apiKey, 'GET', `/v1/alerts?budget_id=${budgetOfB()}`);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [], next_cursor: null });
  });

  it("counts only the org's own spend in its cost totals and budget status", async () => {
    const totalsOf = async (tenant: TestTenant): Promise<{ llm: number; status: number }> => {
      const costs = await call(served.costs.url, tenant.apiKey, 'GET', `/v1/costs?from=${today}&to=${today}&category=llm&group_by=provider`);
      const status = await call(served.budgets.url, tenant.apiKey, 'GET', `/v1/budgets/${ownedBy(tenant).budgetIds[0]}/status`);
      expect(costs.status, costs.text).toBe(200);
      expect(status.status, status.text).toBe(200);
      return { llm: (costs.body as { totals: { llm_cost_usd: number } }).totals.llm_cost_usd, status: (status.body as { spent_usd: number }).spent_usd };
    };

    const forA = await totalsOf(a);
    const forB = await totalsOf(b);

    expect(forA).toEqual({ llm: 1.5, status: 1.5 });
    expect(forB).toEqual({ llm: 7, status: 7 });
  });

  it("counts only the org's own runs in its quota", async () => {
    const forA = await call(served.quota.url, a.apiKey, 'GET', '/v1/quota');
    const forB = await call(served.quota.url, b.apiKey, 'GET', '/v1/quota');

    expect(forA.body).toMatchObject({ org_slug: a.orgSlug, pipelines_run_today: 1 });
    expect(forB.body).toMatchObject({ org_slug: b.orgSlug, pipelines_run_today: 2 });
  });

  it("never serves org A's cached page to org B for the identical request, both cached", async () => {
    const { pricing } = served;
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
    const { pricing } = served;
    const listPath = '/v1/pricing?limit=20';
    await call(pricing.url, a.apiKey, 'GET', listPath);
    await call(pricing.url, b.apiKey, 'PUT', '/v1/pricing/other/model-x', price('1'));
    const before = pricingCacheStats();

    const res = await call(pricing.url, a.apiKey, 'GET', listPath);

    expect(pricingCacheStats().hits - before.hits).toBe(1);
    expect(res.text).not.toContain('model-x');
  });

  it.each([
    ['pricing', '/v1/pricing?limit=1', () => [a, b]],
    ['subscriptions', '/v1/subscriptions?limit=1', () => [a, b]],
    ['budgets', '/v1/budgets?limit=1', () => [a, b]],
    // Only B has two runs, so only B has a second page: its cursor goes to A.
    ['pipelines', '/v1/pipelines/runs?limit=1', () => [b, a]],
  ])("refuses one org's cursor in another org's hands with 400 (a cursor is bound to its org): %s", async (fnName, listPath, orgs) => {
    const [owner, other] = orgs() as [TestTenant, TestTenant];
    const cursor = ((await call(urlOf(fnName), owner.apiKey, 'GET', listPath)).body as { next_cursor: string }).next_cursor;
    expect(cursor).toEqual(expect.any(String));

    const res = await call(urlOf(fnName), other.apiKey, 'GET', `${listPath}&cursor=${encodeURIComponent(cursor)}`);

    expect(res.status).toBe(400);
  });
});

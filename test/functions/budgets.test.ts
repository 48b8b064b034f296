import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localBigQueryOptions, startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import { centralDataset, ensureDatasetDefinition, orgDataset, orgDatasetId } from '../../shared/analytics/index.js';
import { LocalFileKek } from '../../shared/crypto/index.js';
import { call, closeFunctionRuntime, closeTestDb, createTenant, serveFunction, testDb, type ServedFunction, type TestTenant } from '../helpers/tenants.js';

/*
 * The budgets function in process (functions-framework's own server), against PostgreSQL and
 * the local BigQuery endpoint through the real client: CRUD, validation, where a budget
 * stands, the alert log, the signing secret, and tenant isolation.
 */

const keyDir = mkdtempSync(path.join(tmpdir(), 'cloudact-kek-'));
const kekFile = path.join(keyDir, 'kek.b64');
writeFileSync(kekFile, LocalFileKek.generateKeyFileContent(), { mode: 0o600 });

let endpoint: BigQueryEndpoint;
let fn: ServedFunction;
let orgA: TestTenant;
let orgB: TestTenant;
let receiver: Server;
let receiverConnections = 0;
let hookUrl: string;

const today = new Date().toISOString().slice(0, 10);

async function insertUsage(tenant: TestTenant, rows: { day: string; provider: string; model: string; cost: string }[]): Promise<void> {
  const bigquery = new BigQuery(localBigQueryOptions(endpoint.url, 'local-project'));
  await ensureDatasetDefinition(bigquery, orgDataset(tenant.orgSlug), { location: 'US' });
  for (const r of rows) {
    await bigquery.query({
      query: `INSERT INTO \`${orgDatasetId(tenant.orgSlug)}.llm_usage_daily\` (usage_date, org_slug, provider, model, requests, input_tokens, output_tokens, cost_usd, loaded_at, source)
              VALUES (@day, @org, @provider, @model, 1, 0, 0, CAST(@cost AS NUMERIC), CURRENT_TIMESTAMP(), 'openai_usage_daily')`,
      params: { day: BigQuery.date(r.day), org: tenant.orgSlug, provider: r.provider, model: r.model, cost: r.cost },
    });
  }
}

beforeAll(async () => {
  endpoint = await startBigQueryEndpoint({ port: 0 });
  process.env.FUNCTION_NAME = 'budgets';
  process.env.BIGQUERY_API_ENDPOINT = endpoint.url;
  process.env.GOOGLE_CLOUD_PROJECT = 'local-project';
  process.env.KEK_FILE = kekFile;
  process.env.WEBHOOK_ALLOW_LOOPBACK_HTTP = 'true';
  // The audit trail's dataset: every change is audited.
  await ensureDatasetDefinition(new BigQuery(localBigQueryOptions(endpoint.url, 'local-project')), centralDataset(), { location: 'US' });
  await import('../../functions/budgets/index.js');
  fn = await serveFunction('budgets');
  receiver = createServer((_req, res) => res.writeHead(204).end());
  receiver.on('connection', () => (receiverConnections += 1));
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/budget`;
  [orgA, orgB] = await Promise.all([createTenant({ slugPrefix: 'budg_a' }), createTenant({ slugPrefix: 'budg_b' })]);
}, 120_000);

afterAll(async () => {
  await fn?.close();
  receiver?.close();
  await closeTestDb();
  await closeFunctionRuntime();
  await endpoint?.close();
  rmSync(keyDir, { recursive: true, force: true });
});

const budget = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ name: 'LLM spend', amount_usd: 100, period: 'month', webhook_url: hookUrl, ...extra });

describe('budgets CRUD', () => {
  it('creates with the documented defaults, reads, lists by pages, patches and deletes', async () => {
    const created = await call(fn.url, orgA.apiKey, 'POST', '/v1/budgets', budget());
    const second = await call(fn.url, orgA.apiKey, 'POST', '/v1/budgets', budget({ name: 'Quarter', period: 'quarter', amount_usd: '2500.125', thresholds_pct: [100, 25], scope: { category: 'llm', provider: 'openai' }, forecast: false }));

    expect(created.status, created.text).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      name: 'LLM spend',
      amount_usd: 100,
      period: 'month',
      scope: {},
      thresholds_pct: [50, 80, 100],
      forecast: true,
      webhook_url: hookUrl,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(second.body).toMatchObject({ amount_usd: 2500.125, thresholds_pct: [25, 100], scope: { category: 'llm', provider: 'openai' }, forecast: false });
    const id = (created.body as { id: string }).id;

    expect((await call(fn.url, orgA.apiKey, 'GET', `/v1/budgets/${id}`)).body).toEqual(created.body);
    const page1 = await call(fn.url, orgA.apiKey, 'GET', '/v1/budgets?limit=1');
    const page1Body = page1.body as { items: unknown[]; next_cursor: string };
    const page2 = await call(fn.url, orgA.apiKey, 'GET', `/v1/budgets?limit=1&cursor=${encodeURIComponent(page1Body.next_cursor)}`);
    expect(page1Body.items).toHaveLength(1);
    expect((page2.body as { items: unknown[]; next_cursor: string | null }).items).toHaveLength(1);
    expect((page2.body as { next_cursor: string | null }).next_cursor).toBeNull();

    const patched = await call(fn.url, orgA.apiKey, 'PATCH', `/v1/budgets/${id}`, { amount_usd: 250, thresholds_pct: [90] });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ id, amount_usd: 250, thresholds_pct: [90], name: 'LLM spend', period: 'month' });

    expect((await call(fn.url, orgA.apiKey, 'DELETE', `/v1/budgets/${id}`)).status).toBe(204);
    expect((await call(fn.url, orgA.apiKey, 'GET', `/v1/budgets/${id}`)).status).toBe(404);
    expect((await call(fn.url, orgA.apiKey, 'DELETE', `/v1/budgets/${id}`)).status).toBe(404);
  });

  it.each([
    { case: 'a zero amount', change: { amount_usd: 0 }, path: 'amount_usd' },
    { case: 'an amount with 7 decimals', change: { amount_usd: '1.0000001' }, path: 'amount_usd' },
    { case: 'an unknown period', change: { period: 'week' }, path: 'period' },
    { case: 'a repeated threshold', change: { thresholds_pct: [50, 50] }, path: 'thresholds_pct' },
    { case: 'eleven thresholds', change: { thresholds_pct: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }, path: 'thresholds_pct' },
    { case: 'a threshold over 1000', change: { thresholds_pct: [1001] }, path: 'thresholds_pct.0' },
    { case: 'an unknown scope field', change: { scope: { team: 'x' } }, path: 'scope.team' },
    { case: 'an unknown field', change: { owner: 'me' }, path: 'owner' },
  ])('refuses $case with a 400 naming the field', async ({ change, path: field }) => {
    const res = await call(fn.url, orgA.apiKey, 'POST', '/v1/budgets', budget(change));

    expect(res.status, res.text).toBe(400);
    expect((res.body as { error: { code: string; details: { path: string }[] } }).error.code).toBe('INVALID_ARGUMENT');
    expect((res.body as { error: { details: { path: string }[] } }).error.details.map((d) => d.path)).toEqual([field]);
  });

  it.each([
    // PORT: the test receiver's, so "connecting nowhere" is counted where a connection would land.
    'https://127.0.0.1:PORT/hook',
    'https://10.0.0.1/hook',
    'https://169.254.169.254/computeMetadata/v1/',
    'https://[::1]:PORT/hook',
    // A host name that resolves to loopback.
    'https://localhost:PORT/hook',
    'https://metadata.google.internal/',
    'http://example.com/hook',
  ])('refuses the webhook URL %s with a 400, on create and on patch, connecting nowhere', async (template) => {
    const url = template.replace('PORT', String((receiver.address() as AddressInfo).port));
    const existing = (await call(fn.url, orgA.apiKey, 'POST', '/v1/budgets', budget())).body as { id: string };
    const before = receiverConnections;

    const created = await call(fn.url, orgA.apiKey, 'POST', '/v1/budgets', budget({ webhook_url: url }));
    const patched = await call(fn.url, orgA.apiKey, 'PATCH', `/v1/budgets/${existing.id}`, { webhook_url: url });

    expect(created.status, created.text).toBe(400);
    expect(patched.status, patched.text).toBe(400);
    expect((created.body as { error: { details: { path: string }[] } }).error.details).toEqual([{ path: 'webhook_url', message: expect.any(String) }]);
    expect(receiverConnections).toBe(before);
    expect((await call(fn.url, orgA.apiKey, 'GET', `/v1/budgets/${existing.id}`)).body).toMatchObject({ webhook_url: hookUrl });
  });
});

describe('GET /v1/budgets/{id}/status', () => {
  it('shows period-to-date spend in scope, the thresholds crossed and the next one', async () => {
    await insertUsage(orgA, [
      { day: today, provider: 'openai', model: 'gpt-4o-2024-08-06', cost: '42.5' },
      { day: today, provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', cost: '10' },
    ]);
    const scoped = (await call(fn.url, orgA.apiKey, 'POST', '/v1/budgets', budget({ amount_usd: 50, scope: { provider: 'openai' } }))).body as { id: string };
    const all = (await call(fn.url, orgA.apiKey, 'POST', '/v1/budgets', budget({ amount_usd: 100, period: 'year' }))).body as { id: string };

    const scopedStatus = await call(fn.url, orgA.apiKey, 'GET', `/v1/budgets/${scoped.id}/status`);
    const allStatus = await call(fn.url, orgA.apiKey, 'GET', `/v1/budgets/${all.id}/status`);

    expect(scopedStatus.status, scopedStatus.text).toBe(200);
    expect(scopedStatus.body).toEqual({
      period_start: `${today.slice(0, 7)}-01`,
      period_end: expect.stringMatching(new RegExp(`^${today.slice(0, 7)}-(28|29|30|31)$`)),
      spent_usd: 42.5,
      // Nothing in the 7 days before today: the forecast is what is spent.
      forecast_usd: 42.5,
      pct: 85,
      crossed_pct: [50, 80],
      next_threshold_pct: 100,
    });
    expect(allStatus.body).toMatchObject({ period_start: `${today.slice(0, 4)}-01-01`, period_end: `${today.slice(0, 4)}-12-31`, spent_usd: 52.5, pct: 52.5, crossed_pct: [50], next_threshold_pct: 80 });
  });

  it('is 404 for an org without the budget', async () => {
    const mine = (await call(fn.url, orgA.apiKey, 'POST', '/v1/budgets', budget())).body as { id: string };

    expect((await call(fn.url, orgB.apiKey, 'GET', `/v1/budgets/${mine.id}/status`)).status).toBe(404);
  });
});

describe('tenant isolation', () => {
  it('never shows, changes or deletes another org\'s budget or alerts', async () => {
    const mine = (await call(fn.url, orgA.apiKey, 'POST', '/v1/budgets', budget({ name: 'A only' }))).body as { id: string };
    await testDb().query(
      `INSERT INTO budget_alerts (id, org_id, budget_id, period_start, kind, threshold_pct, payload, webhook_url)
       VALUES (gen_random_uuid(), $1, $2, date_trunc('month', now())::date, 'threshold', 50, $3, $4)`,
      [orgA.orgId, mine.id, JSON.stringify({ type: 'budget.threshold_crossed', spent_usd: 60, forecast_usd: 90 }), hookUrl],
    );

    expect((await call(fn.url, orgB.apiKey, 'GET', `/v1/budgets/${mine.id}`)).status).toBe(404);
    expect((await call(fn.url, orgB.apiKey, 'PATCH', `/v1/budgets/${mine.id}`, { name: 'stolen' })).status).toBe(404);
    expect((await call(fn.url, orgB.apiKey, 'DELETE', `/v1/budgets/${mine.id}`)).status).toBe(404);
    expect((await call(fn.url, orgB.apiKey, 'GET', '/v1/budgets')).body).toEqual({ items: [], next_cursor: null });
    expect((await call(fn.url, orgB.apiKey, 'GET', '/v1/alerts')).body).toEqual({ items: [], next_cursor: null });
    expect((await call(fn.url, orgB.apiKey, 'GET', `/v1/alerts?budget_id=${mine.id}`)).body).toEqual({ items: [], next_cursor: null });

    const alerts = await call(fn.url, orgA.apiKey, 'GET', `/v1/alerts?budget_id=${mine.id}`);
    expect(alerts.body).toEqual({
      items: [
        {
          id: expect.any(String),
          budget_id: mine.id,
          type: 'budget.threshold_crossed',
          period_start: `${today.slice(0, 7)}-01`,
          threshold_pct: 50,
          spent_usd: 60,
          forecast_usd: 90,
          status: 'pending',
          attempts: 0,
          last_error: null,
          last_attempt_at: null,
          delivered_at: null,
          created_at: expect.any(String),
          deliveries: [],
        },
      ],
      next_cursor: null,
    });
    expect((await call(fn.url, orgA.apiKey, 'GET', `/v1/budgets/${mine.id}`)).body).toMatchObject({ name: 'A only' });
  });
});

describe('POST /v1/alerts/signing-secret', () => {
  it('shows a new secret once per call, stores it sealed, and replaces the old one', async () => {
    const first = await call(fn.url, orgA.apiKey, 'POST', '/v1/alerts/signing-secret');
    const second = await call(fn.url, orgA.apiKey, 'POST', '/v1/alerts/signing-secret');

    expect(first.status, first.text).toBe(201);
    const a = (first.body as { secret: string }).secret;
    const b = (second.body as { secret: string }).secret;
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(b).not.toBe(a);
    const { rows } = await testDb().query<{ ciphertext: Buffer }>(`SELECT ciphertext FROM webhook_secrets WHERE org_id = $1`, [orgA.orgId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.ciphertext.toString('latin1')).not.toContain(b.slice(6));
  });
});

import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionEnv } from '../../deploy/manifest.js';
import { localBigQueryOptions, startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import { startFunctionProcess, type FunctionProcess } from '../../dev/functionProcess.js';
import { centralDataset, ensureDatasetDefinition, orgDataset, orgDatasetId } from '../../shared/analytics/index.js';
import { LocalFileKek } from '../../shared/crypto/index.js';
import { bundleFunction } from '../fixtures/runtime/functionsFramework.js';
import { startTestPubSub, type TestPubSub } from '../fixtures/pubsub.js';
import { call, closeTestDb, createTenant, testDb, type TestTenant } from '../helpers/tenants.js';

/*
 * Budget alerts end to end, every part real: the official Pub/Sub emulator (push
 * subscriptions to the evaluator and to the delivery function, with retry and dead-letter
 * policies as deployed — only the backoff shortened to seconds), the budgets, budget-alerts
 * and budget-alert-delivery functions as processes started the way the platform starts
 * them, PostgreSQL, the local BigQuery endpoint. The webhook receiver is a local server
 * that verifies each delivery as a customer's would.
 */

const PROJECT = 'budgets-project';
const MAX_ATTEMPTS = 5;
const dir = path.join(process.cwd(), 'test', '.tmp', `budgets-e2e-${process.pid}`);
const kekFile = path.join(dir, 'kek.key');
const today = new Date().toISOString().slice(0, 10);

let pubsub: TestPubSub;
let endpoint: BigQueryEndpoint;
let bigquery: BigQuery;
let budgets: FunctionProcess;
let evaluator: FunctionProcess;
let delivery: FunctionProcess;

/** What the receiver got, per path. */
interface Received {
  at: number;
  signature: string;
  body: string;
}
const received = new Map<string, Received[]>();
/** What the receiver answers on each path, per call (the last answer repeats). */
const script = new Map<string, number[]>();
let receiver: Server;
let receiverUrl: string;
/** Connections to the redirect target: a redirect must never be followed. */
let targetConnections = 0;
let redirectTarget: Server;

function commonEnv(): Record<string, string | undefined> {
  return {
    DATABASE_URL: process.env.DATABASE_URL,
    BIGQUERY_API_ENDPOINT: endpoint.url,
    GOOGLE_CLOUD_PROJECT: PROJECT,
    PUBSUB_EMULATOR_HOST: pubsub.emulator.host,
    KEK_FILE: kekFile,
    WEBHOOK_ALLOW_LOOPBACK_HTTP: 'true',
    LOG_LEVEL: 'INFO',
  };
}

/**
 * Verifies a delivery as a receiver should (API.md, Stripe's scheme): the HMAC-SHA256 of
 * `"<t>.<raw body>"` under the org's secret, compared in constant time, and `t` no older
 * than 5 minutes at `nowSeconds` — so a captured delivery replayed later is refused.
 */
function verifies(secret: string, header: string, body: string, nowSeconds: number): boolean {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=') as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || parts.v1 === undefined || nowSeconds - t > 300) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function newOrg(prefix: string): Promise<TestTenant> {
  const tenant = await createTenant({ slugPrefix: prefix });
  await ensureDatasetDefinition(bigquery, orgDataset(tenant.orgSlug), { location: 'US' });
  return tenant;
}

async function spend(tenant: TestTenant, cost: string): Promise<void> {
  await bigquery.query({
    query: `INSERT INTO \`${orgDatasetId(tenant.orgSlug)}.llm_usage_daily\` (usage_date, org_slug, provider, model, requests, input_tokens, output_tokens, cost_usd, loaded_at, source)
            VALUES (@day, @org, 'openai', 'gpt-4o-2024-08-06', 1, 0, 0, CAST(@cost AS NUMERIC), CURRENT_TIMESTAMP(), 'openai_usage_daily')`,
    params: { day: BigQuery.date(today), org: tenant.orgSlug, cost },
  });
}

async function createBudget(tenant: TestTenant, hookPath: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await call(budgets.url, tenant.apiKey, 'POST', '/v1/budgets', {
    name: `budget ${hookPath}`,
    amount_usd: 100,
    period: 'month',
    thresholds_pct: [80],
    forecast: false,
    webhook_url: `${receiverUrl}${hookPath}`,
    ...extra,
  });
  expect(res.status, res.text).toBe(201);
  return (res.body as { id: string }).id;
}

function usageUpdated(tenant: TestTenant): Promise<string> {
  return pubsub.admin.publish('usage-updated', { org_slug: tenant.orgSlug, dates: [today], run_id: crypto.randomUUID() });
}

async function alertsOf(tenant: TestTenant, budgetId: string): Promise<any[]> {
  const res = await call(budgets.url, tenant.apiKey, 'GET', `/v1/alerts?budget_id=${budgetId}`);
  expect(res.status, res.text).toBe(200);
  return (res.body as { items: any[] }).items;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(kekFile, LocalFileKek.generateKeyFileContent(), { mode: 0o600 });
  [pubsub, endpoint] = await Promise.all([startTestPubSub(PROJECT), startBigQueryEndpoint({ port: 0 })]);
  bigquery = new BigQuery(localBigQueryOptions(endpoint.url, PROJECT));
  await ensureDatasetDefinition(bigquery, centralDataset(), { location: 'US' });

  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const key = req.url ?? '/';
      const got = received.get(key) ?? [];
      got.push({ at: Date.now(), signature: String(req.headers['cloudact-signature'] ?? ''), body });
      received.set(key, got);
      const answers = script.get(key) ?? [204];
      const status = answers[Math.min(got.length - 1, answers.length - 1)] as number;
      res.writeHead(status, status === 302 ? { location: `http://127.0.0.1:${(redirectTarget.address() as AddressInfo).port}/elsewhere` } : {}).end('ignored');
    });
  });
  redirectTarget = createServer((_req, res) => res.writeHead(204).end());
  redirectTarget.on('connection', () => (targetConnections += 1));
  await Promise.all([
    new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve)),
    new Promise<void>((resolve) => redirectTarget.listen(0, '127.0.0.1', resolve)),
  ]);
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  const names = ['budgets', 'budget-alerts', 'budget-alert-delivery'];
  const built = await Promise.all(names.map((name) => bundleFunction(`functions/${name}/index.ts`, `e2e-${name}`)));
  const source = Object.fromEntries(names.map((name, i) => [name, built[i] as string]));
  await Promise.all([
    startFunctionProcess({ source: source.budgets as string, target: 'budgets', env: { ...functionEnv('budgets'), ...commonEnv() }, healthTimeoutMs: 90_000 }).then((p) => (budgets = p)),
    startFunctionProcess({ source: source['budget-alerts'] as string, target: 'budget-alerts', signatureType: 'cloudevent', env: { ...functionEnv('budget-alerts'), ...commonEnv() }, healthTimeoutMs: 90_000 }).then(
      (p) => (evaluator = p),
    ),
    startFunctionProcess({
      source: source['budget-alert-delivery'] as string,
      target: 'budget-alert-delivery',
      signatureType: 'cloudevent',
      env: { ...functionEnv('budget-alert-delivery'), ...commonEnv(), ALERT_MAX_DELIVERY_ATTEMPTS: String(MAX_ATTEMPTS) },
      healthTimeoutMs: 90_000,
    }).then((p) => (delivery = p)),
  ]);
  for (const topic of ['usage-updated', 'usage-updated-dead', 'budget-alert-deliveries', 'budget-alert-deliveries-dead']) await pubsub.admin.createTopic(topic);
  await pubsub.admin.createSubscription('delivery-dead-letters', { topic: 'budget-alert-deliveries-dead' });
  await pubsub.admin.createSubscription('budget-alerts-push', {
    topic: 'usage-updated',
    pushEndpoint: `${evaluator.url}/`,
    ackDeadlineSeconds: 60,
    retryPolicy: { minimumBackoffSeconds: 1, maximumBackoffSeconds: 4 },
    deadLetterPolicy: { deadLetterTopic: 'usage-updated-dead', maxDeliveryAttempts: 5 },
  });
  await pubsub.admin.createSubscription('budget-alert-delivery-push', {
    topic: 'budget-alert-deliveries',
    pushEndpoint: `${delivery.url}/`,
    ackDeadlineSeconds: 30,
    retryPolicy: { minimumBackoffSeconds: 1, maximumBackoffSeconds: 2 },
    deadLetterPolicy: { deadLetterTopic: 'budget-alert-deliveries-dead', maxDeliveryAttempts: MAX_ATTEMPTS },
  });
}, 240_000);

afterAll(async () => {
  await Promise.allSettled([budgets, evaluator, delivery].map((p) => p?.stop('SIGKILL')));
  await Promise.allSettled([pubsub?.stop(), endpoint?.close()]);
  receiver?.close();
  redirectTarget?.close();
  await closeTestDb();
}, 60_000);

describe('budget alerts, end to end', () => {
  it('raises a crossed threshold exactly once when the same usage-updated is delivered 3 times and evaluations race', { timeout: 120_000 }, async () => {
    const org = await newOrg('alert_once');
    await spend(org, '85');
    const budgetId = await createBudget(org, '/once');

    // Three deliveries of one message's content, and two more published at the same instant: concurrent evaluations.
    const data = { org_slug: org.orgSlug, dates: [today], run_id: crypto.randomUUID() };
    for (let i = 0; i < 3; i += 1) await pubsub.admin.publish('usage-updated', data);
    await Promise.all([pubsub.admin.publish('usage-updated', data), pubsub.admin.publish('usage-updated', data)]);

    const delivered = await waitFor('the alert to be delivered', async () => ((await alertsOf(org, budgetId))[0]?.status === 'delivered' ? true : undefined));
    expect(delivered).toBe(true);
    // Give any duplicate time to show itself: five evaluations, each could have raised and delivered one.
    await waitFor('every evaluation to finish', async () => (evaluator.lines.filter((l) => l.includes('Budgets evaluated') && l.includes(org.orgSlug)).length >= 5 ? true : undefined));
    await sleep(3_000);
    const { rows } = await testDb().query<{ n: string }>(`SELECT count(*) AS n FROM budget_alerts WHERE budget_id = $1`, [budgetId]);
    expect(Number(rows[0]?.n)).toBe(1);
    expect(received.get('/once')).toHaveLength(1);
    const alerts = await alertsOf(org, budgetId);
    expect(alerts).toEqual([expect.objectContaining({ type: 'budget.threshold_crossed', threshold_pct: 80, spent_usd: 85, status: 'delivered', attempts: 1 })]);
    const body = JSON.parse((received.get('/once') as Received[])[0]?.body as string);
    expect(body).toEqual({
      id: alerts[0].id,
      type: 'budget.threshold_crossed',
      org_slug: org.orgSlug,
      budget: { id: budgetId, name: 'budget /once', amount_usd: 100, period: 'month' },
      period_start: `${today.slice(0, 7)}-01`,
      threshold_pct: 80,
      spent_usd: 85,
      forecast_usd: 85,
      occurred_at: expect.any(String),
    });
  });

  it('retries a receiver that answers 500 twice: delivered on attempt 3, signed so a receiver can verify it and refuse a replay', { timeout: 120_000 }, async () => {
    const org = await newOrg('alert_retry');
    const secret = ((await call(budgets.url, org.apiKey, 'POST', '/v1/alerts/signing-secret')).body as { secret: string }).secret;
    script.set('/flaky', [500, 500, 200]);
    await spend(org, '90');
    const budgetId = await createBudget(org, '/flaky');

    await usageUpdated(org);

    const [alert] = await waitFor('the alert to be delivered', async () => {
      const list = await alertsOf(org, budgetId);
      return list[0]?.status === 'delivered' ? list : undefined;
    });
    expect(alert).toMatchObject({ status: 'delivered', attempts: 3, last_error: null, delivered_at: expect.any(String) });
    expect(alert.deliveries.map((d: { attempt: number; status_code: number; error: string | null }) => [d.attempt, d.status_code, d.error])).toEqual([
      [1, 500, 'receiver answered 500'],
      [2, 500, 'receiver answered 500'],
      [3, 200, null],
    ]);
    const got = received.get('/flaky') as Received[];
    expect(got).toHaveLength(3);
    // Every attempt sends the same body, each signed afresh; each verifies now, and none 5 minutes later.
    expect(new Set(got.map((r) => r.body)).size).toBe(1);
    for (const r of got) {
      expect(verifies(secret, r.signature, r.body, Math.floor(r.at / 1000))).toBe(true);
      expect(verifies(secret, r.signature, r.body, Math.floor(r.at / 1000) + 301)).toBe(false);
      expect(verifies('whsec_another', r.signature, r.body, Math.floor(r.at / 1000))).toBe(false);
      expect(verifies(secret, r.signature, r.body.replace('"threshold_pct":80', '"threshold_pct":8'), Math.floor(r.at / 1000))).toBe(false);
    }
  });

  it('dead-letters an alert whose receiver always fails, and GET /v1/alerts says so', { timeout: 150_000 }, async () => {
    const org = await newOrg('alert_dead');
    script.set('/down', [503]);
    await spend(org, '120');
    const budgetId = await createBudget(org, '/down');

    await usageUpdated(org);

    const [alert] = await waitFor('the alert to be dead-lettered', async () => {
      const list = await alertsOf(org, budgetId);
      return list[0]?.status === 'dead_lettered' ? list : undefined;
    }, 120_000);
    expect(alert).toMatchObject({ status: 'dead_lettered', attempts: MAX_ATTEMPTS, last_error: 'receiver answered 503', delivered_at: null });
    expect(alert.deliveries).toHaveLength(MAX_ATTEMPTS);
    const dead = await waitFor('the dead letter', async () => {
      const pulled = await pubsub.admin.pull('delivery-dead-letters', { maxMessages: 10 });
      const mine = pulled.map((m) => JSON.parse(m.data) as { alert_id: string }).find((m) => m.alert_id === alert.id);
      return mine;
    }, 60_000);
    expect(dead).toEqual({ alert_id: alert.id, org_slug: org.orgSlug });
    expect(received.get('/down')).toHaveLength(MAX_ATTEMPTS);
  });

  it('never follows a redirect: each attempt fails, and the redirect target is never contacted', { timeout: 150_000 }, async () => {
    const org = await newOrg('alert_redirect');
    script.set('/moved', [302]);
    await spend(org, '95');
    const budgetId = await createBudget(org, '/moved');

    await usageUpdated(org);

    const [alert] = await waitFor('the redirected alert to fail', async () => {
      const list = await alertsOf(org, budgetId);
      return list[0]?.attempts >= 2 ? list : undefined;
    }, 120_000);
    expect(alert.deliveries[0]).toMatchObject({ attempt: 1, status_code: 302, error: 'redirect not followed (302)' });
    expect(alert.status === 'failing' || alert.status === 'dead_lettered').toBe(true);
    expect(targetConnections).toBe(0);
  });
});

import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionEnv } from '../../deploy/manifest.js';
import { localBigQueryOptions, startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import { startFunctionProcess, type FunctionProcess } from '../../dev/functionProcess.js';
import { bundleFunction } from '../fixtures/runtime/functionsFramework.js';
import { requestHash } from '../../functions/pipelines/idempotency.js';
import { centralDataset, ensureDatasetDefinition, orgDataset, orgDatasetId } from '../../shared/analytics/index.js';
import { credentialAad, LocalFileKek, sealSecret } from '../../shared/crypto/index.js';
import { formatUsd, parseUsd } from '../../shared/money/index.js';
import { startFakeAnthropic, startFakeOpenAi, type FakeProvider } from '../fixtures/providers/fakeProvider.js';
import { startTestPubSub, type TestPubSub } from '../fixtures/pubsub.js';
import { documentedFetch } from '../helpers/apiContract.js';
import { closeTestDb, createTenant, testDb, type TestTenant } from '../helpers/tenants.js';

/*
 * Pipelines end to end, every part real: the official Pub/Sub emulator (a push
 * subscription to the worker with the deployed retry and dead-letter policy), the
 * pipelines, pipeline-worker, quota and costs functions as processes started the way the
 * platform starts them, PostgreSQL, and the local BigQuery endpoint through the real
 * client. Only the providers' APIs are fakes, at the HTTP boundary.
 */

/** The functions' Google Cloud project (BigQuery's); Pub/Sub is in the fixture's own project. */
const PROJECT = 'local-project';
const MAX_ATTEMPTS = 5;
const ADMIN_KEY = `sk-admin-${randomBytes(12).toString('hex')}`;
const dir = path.join(process.cwd(), 'test', '.tmp', `pipelines-e2e-${process.pid}`);
const kekFile = path.join(dir, 'kek.key');

let pubsub: TestPubSub;
let bigqueryEndpoint: BigQueryEndpoint;
let bigquery: BigQuery;
let openai: FakeProvider;
let anthropic: FakeProvider;
let sources: Record<string, string>;
let pipelines: FunctionProcess;
let quota: FunctionProcess;
let costs: FunctionProcess;
let pricing: FunctionProcess;
let worker: FunctionProcess;
let proxy: { server: Server; url: string; target: string | undefined };

/** The worker's environment; the worker is (re)started with it. */
function workerEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    ...functionEnv('pipeline-worker'),
    ...commonEnv(),
    // A short lease (the deadline), so a dead worker's run is taken over within the redeliveries.
    FUNCTION_TIMEOUT_SECONDS: '10',
    PIPELINE_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    PROVIDER_REQUEST_ATTEMPTS: '1',
    PROVIDER_BASE_URL_OPENAI: openai.url.toString(),
    PROVIDER_BASE_URL_ANTHROPIC: anthropic.url.toString(),
    ...extra,
  };
}

function commonEnv(): Record<string, string | undefined> {
  return {
    DATABASE_URL: process.env.DATABASE_URL,
    BIGQUERY_API_ENDPOINT: bigqueryEndpoint.url,
    GOOGLE_CLOUD_PROJECT: PROJECT,
    PUBSUB_EMULATOR_HOST: pubsub.host,
    PUBSUB_PROJECT_ID: pubsub.projectId,
    KEK_FILE: kekFile,
    LOG_LEVEL: 'INFO',
  };
}

async function startWorker(extra: Record<string, string> = {}): Promise<FunctionProcess> {
  const started = await startFunctionProcess({
    source: sources['pipeline-worker'] as string,
    target: 'pipeline-worker',
    signatureType: 'cloudevent',
    env: workerEnv(extra),
    healthTimeoutMs: 90_000,
    // E2E_VERBOSE=1 prints the worker's log lines (they are kept in `lines` either way).
    onLine: process.env.E2E_VERBOSE === '1' ? (line) => console.log(`[worker] ${line}`) : undefined,
  });
  proxy.target = started.url;
  return started;
}

/**
 * The push endpoint: a relay to whichever worker process is current, so a killed worker
 * can be replaced without touching the subscription. With no worker, the push fails —
 * as it would while a Cloud Run instance is gone.
 */
async function startRelay(): Promise<typeof proxy> {
  const state = { target: undefined as string | undefined };
  const server = createServer((req, res) => {
    if (state.target === undefined) {
      res.writeHead(503).end();
      return;
    }
    const upstream = httpRequest(`${state.target}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.defineProperties({ server, url } as typeof proxy, {
    target: { get: () => state.target, set: (v: string | undefined) => (state.target = v), enumerable: true },
  });
}

async function api(base: string, tenant: TestTenant, method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await documentedFetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${tenant.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
}

async function newTenant(plan = 'pro'): Promise<TestTenant> {
  const tenant = await createTenant({ slugPrefix: 'pipe', plan });
  await ensureDatasetDefinition(bigquery, orgDataset(tenant.orgSlug), { location: 'US' });
  return tenant;
}

async function storeCredential(tenant: TestTenant, provider: string, credential: string): Promise<void> {
  const kek = await LocalFileKek.fromFile(kekFile);
  const sealed = await sealSecret(credential, credentialAad(tenant.orgId, provider), kek);
  await testDb().query(
    `INSERT INTO integrations (org_id, provider, status, fingerprint, ciphertext, iv, auth_tag, wrapped_dek, kek_id) VALUES ($1, $2, 'valid', $3, $4, $5, $6, $7, $8)`,
    [tenant.orgId, provider, credential.slice(-4), sealed.ciphertext, sealed.iv, sealed.authTag, sealed.wrappedDek, sealed.kekId],
  );
}

async function trigger(tenant: TestTenant, pipelineId: string, date: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  return api(pipelines.url, tenant, 'POST', `/v1/pipelines/${pipelineId}/runs`, { date }, headers);
}

async function run(tenant: TestTenant, runId: string): Promise<any> {
  return (await api(pipelines.url, tenant, 'GET', `/v1/pipelines/runs/${runId}`)).body;
}

/** Polls a run until it reaches `status` (or fails the test after `timeoutMs`). */
async function waitForRun(tenant: TestTenant, runId: string, status: string | string[], timeoutMs = 60_000): Promise<any> {
  const wanted = Array.isArray(status) ? status : [status];
  const until = Date.now() + timeoutMs;
  for (;;) {
    const current = await run(tenant, runId);
    if (wanted.includes(current?.status)) return current;
    if (Date.now() > until) throw new Error(`run ${runId} is ${JSON.stringify(current)}, not ${wanted.join('|')}, after ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** The org's rows of one day in BigQuery, per provider and model: how many copies of each. */
/** The day's rows by grain (source, provider, model, tier, project, key): one copy each, whatever was redelivered. */
async function dayRows(tenant: TestTenant, date: string): Promise<{ source: string; provider: string; model: string; copies: number; cost: string }[]> {
  const [rows] = await bigquery.query({
    query: `SELECT source, provider, model, COUNT(*) AS copies, CAST(SUM(cost_usd) AS STRING) AS cost FROM \`${orgDatasetId(tenant.orgSlug)}.llm_usage_daily\`
             WHERE usage_date = @date
             GROUP BY source, provider, model, service_tier, project_id, api_key_id ORDER BY source, provider, model`,
    params: { date: BigQuery.date(date) },
  });
  // The cost through the money codec: NUMERIC text, 9 decimals, whichever way the endpoint spells it.
  return (rows as { source: string; provider: string; model: string; copies: number; cost: string }[]).map((r) => ({ ...r, cost: formatUsd(parseUsd(r.cost)) }));
}

async function deadLetters(): Promise<{ run_id?: string }[]> {
  const pulled = await pubsub.admin.pull('dead-letters', { maxMessages: 50 });
  return pulled.map((m) => JSON.parse(m.data) as { run_id?: string });
}

function daysAgo(n: number): string {
  return new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
}

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(kekFile, LocalFileKek.generateKeyFileContent(), { mode: 0o600 });
  [pubsub, bigqueryEndpoint] = await Promise.all([startTestPubSub('pipelines-e2e'), startBigQueryEndpoint({ port: 0 })]);
  bigquery = new BigQuery(localBigQueryOptions(bigqueryEndpoint.url, PROJECT));
  await ensureDatasetDefinition(bigquery, centralDataset(), { location: 'US' });
  [openai, anthropic] = await Promise.all([
    startFakeOpenAi({ adminKey: ADMIN_KEY, usage: [] }),
    startFakeAnthropic({ adminKey: ADMIN_KEY, usage: [] }),
  ]);
  const names = ['pipelines', 'pipeline-worker', 'quota', 'costs', 'pricing'];
  const built = await Promise.all(names.map((name) => bundleFunction(`functions/${name}/index.ts`, `e2e-${name}`)));
  sources = Object.fromEntries(names.map((name, i) => [name, built[i] as string]));
  proxy = await startRelay();
  // Each assigned as it comes up, so afterAll stops whatever started even if another failed.
  await Promise.all([
    startFunctionProcess({ source: sources.pipelines as string, target: 'pipelines', env: { ...functionEnv('pipelines'), ...commonEnv() }, healthTimeoutMs: 90_000 }).then((p) => (pipelines = p)),
    startFunctionProcess({ source: sources.quota as string, target: 'quota', env: { ...functionEnv('quota'), ...commonEnv() }, healthTimeoutMs: 90_000 }).then((p) => (quota = p)),
    startFunctionProcess({ source: sources.costs as string, target: 'costs', env: { ...functionEnv('costs'), ...commonEnv(), COSTS_CACHE_TTL_MS: '0' }, healthTimeoutMs: 90_000 }).then((p) => (costs = p)),
    startFunctionProcess({ source: sources.pricing as string, target: 'pricing', env: { ...functionEnv('pricing'), ...commonEnv() }, healthTimeoutMs: 90_000 }).then((p) => (pricing = p)),
    startWorker().then((p) => (worker = p)),
  ]);
  await pubsub.admin.createTopic('pipeline-runs');
  await pubsub.admin.createTopic('pipeline-runs-dead');
  await pubsub.admin.createSubscription('dead-letters', { topic: 'pipeline-runs-dead' });
  // Where the worker tells the budget evaluator an org's spend changed.
  await pubsub.admin.createTopic('usage-updated');
  await pubsub.admin.createSubscription('usage-updated-watch', { topic: 'usage-updated' });
  await pubsub.admin.createSubscription('pipeline-worker', {
    topic: 'pipeline-runs',
    pushEndpoint: await pubsub.pushEndpoint(`${proxy.url}/`),
    ackDeadlineSeconds: 60,
    retryPolicy: { minimumBackoffSeconds: 2, maximumBackoffSeconds: 8 },
    deadLetterPolicy: { deadLetterTopic: 'pipeline-runs-dead', maxDeliveryAttempts: MAX_ATTEMPTS },
  });
}, 240_000);

afterAll(async () => {
  await Promise.allSettled([pipelines, quota, costs, pricing, worker].map((p) => p?.stop('SIGKILL')));
  await Promise.allSettled([pubsub?.stop(), bigqueryEndpoint?.close(), openai?.close(), anthropic?.close()]);
  proxy?.server.close();
  await closeTestDb();
}, 60_000);

describe('a pipeline run, end to end', () => {
  it('goes queued → succeeded; /v1/costs shows the day, /v1/quota counts the run, the history has it', { timeout: 90_000 }, async () => {
    const tenant = await newTenant();
    const date = daysAgo(3);

    const accepted = await trigger(tenant, 'demo_usage_daily', date);

    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({ run_id: expect.any(String), status: 'queued' });
    const done = await waitForRun(tenant, accepted.body.run_id, ['succeeded', 'failed']);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, pipeline_id: 'demo_usage_daily', date, error: null });
    expect(done.rows_loaded).toBeGreaterThan(0);
    const rows = await dayRows(tenant, date);
    expect(rows.length).toBe(done.rows_loaded);
    // The budgets learn of it: the worker published usage-updated for the org and the day.
    // (Published just after the run is recorded: polled until it shows.)
    const updates: { run_id: string }[] = [];
    for (let until = Date.now() + 30_000; Date.now() < until && !updates.some((m) => m.run_id === accepted.body.run_id); await sleep(250)) {
      updates.push(...(await pubsub.admin.drain('usage-updated-watch', { maxMessages: 50 })).map((m) => JSON.parse(m.data) as { run_id: string }));
    }
    expect(updates.filter((m) => m.run_id === accepted.body.run_id)).toEqual([{ org_slug: tenant.orgSlug, dates: [date], run_id: accepted.body.run_id }]);
    expect(rows.every((r) => r.copies === 1)).toBe(true);
    const day = await api(costs.url, tenant, 'GET', `/v1/costs?from=${date}&to=${date}&group_by=day`);
    expect(day.status).toBe(200);
    expect(day.body.rows).toHaveLength(1);
    expect(day.body.rows[0].key).toBe(date);
    const q = await api(quota.url, tenant, 'GET', '/v1/quota');
    expect(q.body).toMatchObject({ pipelines_run_today: 1, concurrent_running: 0 });
    const [history] = await bigquery.query({ query: 'SELECT status, attempt FROM `cloudact_meta.org_meta_pipeline_runs` WHERE run_id = @id', params: { id: accepted.body.run_id } });
    expect(history).toEqual([{ status: 'succeeded', attempt: 1 }]);
  });

  it('loads one copy of the day however often the message is delivered or the day re-run', { timeout: 90_000 }, async () => {
    const tenant = await newTenant();
    const date = daysAgo(4);
    const first = await trigger(tenant, 'demo_usage_daily', date);
    await waitForRun(tenant, first.body.run_id, 'succeeded');
    const message = { run_id: first.body.run_id, org_slug: tenant.orgSlug, pipeline_id: 'demo_usage_daily', date };

    for (let i = 0; i < 3; i += 1) await pubsub.admin.publish('pipeline-runs', message);
    const again = await trigger(tenant, 'demo_usage_daily', date);
    expect(again.status).toBe(202);
    await waitForRun(tenant, again.body.run_id, 'succeeded');
    await sleep(3000); // let the duplicates arrive and be acked

    const rows = await dayRows(tenant, date);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.copies === 1)).toBe(true);
    expect((await run(tenant, first.body.run_id)).attempts).toBe(1);
  });
});

describe('providers that fail', () => {
  it('retries a provider that answers 503 twice, then succeeds with attempts: 3 and the org\'s prices', async () => {
    const tenant = await newTenant();
    await storeCredential(tenant, 'openai', ADMIN_KEY);
    const date = daysAgo(2);
    openai.fallback = { kind: 'ok' };
    openai.script.push({ kind: 'status', status: 503 }, { kind: 'status', status: 503 });
    await testDb().query(`INSERT INTO llm_prices (org_id, provider, model, input, output) VALUES ($1, 'openai', 'gpt-4o', 2.5, 10)`, [tenant.orgId]);

    const accepted = await trigger(tenant, 'openai_usage_daily', date);

    const done = await waitForRun(tenant, accepted.body.run_id, ['succeeded', 'failed'], 90_000);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 3 });
  });

  it('fails a run whose provider always answers 503 after the max attempts, and dead-letters its message', async () => {
    const tenant = await newTenant();
    await storeCredential(tenant, 'anthropic', ADMIN_KEY);
    anthropic.fallback = { kind: 'status', status: 503 };
    try {
      const accepted = await trigger(tenant, 'anthropic_usage_daily', daysAgo(2));

      const done = await waitForRun(tenant, accepted.body.run_id, 'failed', 120_000);
      expect(done.attempts).toBe(MAX_ATTEMPTS);
      expect(done.error).toMatch(/gave up after 5 attempts/);
      const until = Date.now() + 30_000;
      let dead: { run_id?: string }[] = [];
      while (Date.now() < until && !dead.some((m) => m.run_id === accepted.body.run_id)) {
        dead = [...dead, ...(await deadLetters())];
        await sleep(500);
      }
      expect(dead.map((m) => m.run_id)).toContain(accepted.body.run_id);
    } finally {
      anthropic.fallback = { kind: 'ok' };
    }
  });

  it('fails at once, with a safe error, a run whose credential the provider rejects (message acked)', async () => {
    const tenant = await newTenant();
    const wrongKey = `sk-admin-wrong-${randomBytes(8).toString('hex')}`;
    await storeCredential(tenant, 'openai', wrongKey);

    const accepted = await trigger(tenant, 'openai_usage_daily', daysAgo(2));

    const done = await waitForRun(tenant, accepted.body.run_id, ['succeeded', 'failed']);
    expect(done).toMatchObject({ status: 'failed', attempts: 1 });
    expect(done.error).toMatch(/openai/i);
    expect(done.error).not.toContain(wrongKey.slice(-8));
    await sleep(3000);
    expect((await run(tenant, accepted.body.run_id)).attempts).toBe(1);
  });
});

describe('poison messages', () => {
  it.each([
    { case: 'not JSON', data: 'this is not json' },
    { case: 'the wrong schema', data: { run_id: 'nope', org_slug: 'X', date: 'yesterday' } },
  ])('acks a payload that is $case with one ERROR line, and never sees it again', async ({ data }) => {
    const before = worker.lines.length;
    const id = await pubsub.admin.publish('pipeline-runs', data);
    const until = Date.now() + 20_000;
    const poisonLines = (): string[] => worker.lines.slice(before).filter((l) => l.includes(id) && l.includes('"severity":"ERROR"'));
    while (poisonLines().length === 0 && Date.now() < until) await sleep(200);
    await sleep(4000); // a redelivery would come after the 2 s minimum backoff

    expect(poisonLines()).toHaveLength(1);
    expect(poisonLines()[0]).toMatch(/poison/);
  });
});

describe('the per-org concurrency limit', () => {
  it('never has two runs of a free org running at once; all eight finish, each at attempt 1, none dead-lettered', async () => {
    const tenant = await newTenant('free');
    // More runs than the subscription's delivery attempts (5): a run that waits for the org's
    // slot must not spend them — it is acked, set aside, and handed the slot when it frees.
    const dates = [5, 6, 7, 8, 9, 10, 11, 12].map(daysAgo);
    const triggered = await Promise.all(dates.map((date) => trigger(tenant, 'demo_usage_daily', date)));
    expect(triggered.map((t) => t.status)).toEqual(Array(8).fill(202));

    let maxRunning = 0;
    const until = Date.now() + 150_000;
    for (;;) {
      const { rows } = await testDb().query<{ running: number; done: number }>(
        `SELECT count(*) FILTER (WHERE status = 'running')::int AS running, count(*) FILTER (WHERE status IN ('succeeded', 'failed'))::int AS done
           FROM pipeline_runs WHERE org_id = $1`,
        [tenant.orgId],
      );
      maxRunning = Math.max(maxRunning, rows[0]?.running ?? 0);
      if (rows[0]?.done === dates.length || Date.now() > until) break;
      await sleep(50);
    }

    expect(maxRunning).toBe(1);
    for (const t of triggered) expect(await run(tenant, t.body.run_id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    const ids = new Set(triggered.map((t) => t.body.run_id as string));
    expect((await deadLetters()).filter((m) => m.run_id !== undefined && ids.has(m.run_id))).toEqual([]);
  }, 200_000);
});

describe('concurrent loads of one org', () => {
  it('backfills 10 days for a pro org (3 at once): every run succeeds at its first attempt, each day loaded once', async () => {
    const tenant = await newTenant('pro');
    const dates = Array.from({ length: 10 }, (_, i) => daysAgo(120 + i));
    const linesBefore = worker.lines.length;

    const triggered = await Promise.all(dates.map((date) => trigger(tenant, 'demo_usage_daily', date)));
    expect(triggered.map((t) => t.status)).toEqual(dates.map(() => 202));
    const done: { date: string; status: string; attempts: number; rows_loaded: number }[] = await Promise.all(
      triggered.map((t) => waitForRun(tenant, t.body.run_id, ['succeeded', 'failed'], 150_000)),
    );

    // The runs did overlap (the plan lets 3 run at once): their loads would have aborted each other.
    const { rows: spans } = await testDb().query<{ started: number; finished: number }>(
      `SELECT extract(epoch FROM started_at)::float8 AS started, extract(epoch FROM finished_at)::float8 AS finished FROM pipeline_runs WHERE org_id = $1`,
      [tenant.orgId],
    );
    const overlap = Math.max(...spans.map((a) => spans.filter((b) => b.started <= a.started && a.started < b.finished).length));
    const waits = worker.lines.slice(linesBefore).filter((l) => l.includes(tenant.orgSlug) && l.includes('Took the org load lock after waiting')).length;
    console.log(`10-day backfill, pro org: ${done.filter((d) => d.status === 'succeeded').length} succeeded, attempts ${done.map((d) => d.attempts).join(',')}, up to ${overlap} runs at once, ${waits} loads waited for the org's lock`);
    expect(done.map((d) => [d.date, d.status, d.attempts])).toEqual(dates.map((date) => [date, 'succeeded', 1]));
    expect(overlap).toBeGreaterThan(1);
    expect(overlap).toBeLessThanOrEqual(3);
    for (const [i, date] of dates.entries()) {
      const rows = await dayRows(tenant, date);
      expect(rows.length).toBe(done[i]?.rows_loaded);
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((r) => r.copies === 1)).toBe(true);
    }
    const { rows: locks } = await testDb().query('SELECT 1 FROM org_load_locks WHERE org_id = $1', [tenant.orgId]);
    expect(locks).toHaveLength(0);
  }, 180_000);
});

describe('the daily quota', () => {
  it('answers the 11th trigger of a free org\'s day with 429 and Retry-After', async () => {
    const tenant = await newTenant('free');
    const statuses: number[] = [];
    for (let i = 0; i < 11; i += 1) statuses.push((await trigger(tenant, 'demo_usage_daily', daysAgo(20 + i))).status);

    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(202));
    const eleventh = await trigger(tenant, 'demo_usage_daily', daysAgo(40));
    expect(eleventh.status).toBe(429);
    expect(eleventh.body.error.code).toBe('QUOTA_EXCEEDED');
    expect(Number(eleventh.headers.get('retry-after'))).toBeGreaterThan(0);
  }, 120_000);

  it('lets no more than 10 of 30 concurrent triggers through', async () => {
    const tenant = await newTenant('free');

    const dates = Array.from({ length: 30 }, (_, i) => daysAgo(50 + i));
    const answers = await Promise.all(dates.map((date) => trigger(tenant, 'demo_usage_daily', date)));
    // Load shed on purpose (503 with Retry-After: no connection or lookup slot within the
    // budget, on a busy machine) changes nothing and may be retried; each such trigger is
    // sent again, alone, until it gets a real answer.
    for (const [i, answer] of answers.entries()) {
      let current = answer;
      for (let retry = 0; current.status === 503 && retry < 10; retry += 1) {
        expect(current.headers.get('retry-after')).not.toBeNull();
        await sleep(200);
        current = await trigger(tenant, 'demo_usage_daily', dates[i] as string);
      }
      answers[i] = current;
    }

    expect(answers.filter((a) => a.status === 202)).toHaveLength(10);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(20);
    const { rows } = await testDb().query<{ n: number }>('SELECT pipelines_run AS n FROM usage_quotas WHERE org_id = $1', [tenant.orgId]);
    expect(rows[0]?.n).toBe(10);
  }, 120_000);
});

describe('triggering', () => {
  it('answers 409 naming the active run for the same pipeline and date', async () => {
    const tenant = await newTenant();
    const date = daysAgo(60);
    // Hold the worker off: the run stays queued while no worker answers the push.
    const held = proxy.target;
    proxy.target = undefined;
    try {
      const first = await trigger(tenant, 'demo_usage_daily', date);
      const second = await trigger(tenant, 'demo_usage_daily', date);

      expect(second.status).toBe(409);
      expect(second.body.error.code).toBe('ALREADY_EXISTS');
      expect(second.body.error.details).toEqual([{ path: 'run_id', message: first.body.run_id }]);
    } finally {
      proxy.target = held;
    }
  });

  it('spends quota only on the trigger that queues: 8 concurrent triggers of one pipeline and date are one 202, seven 409 and one run counted', async () => {
    const tenant = await newTenant();
    const date = daysAgo(61);
    const held = proxy.target;
    proxy.target = undefined;
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, () => trigger(tenant, 'demo_usage_daily', date)));
      // Load shed on purpose (503 with Retry-After) may be retried; it changes nothing.
      for (const [i, answer] of answers.entries()) {
        let current = answer;
        for (let retry = 0; current.status === 503 && retry < 10; retry += 1) {
          await sleep(200);
          current = await trigger(tenant, 'demo_usage_daily', date);
        }
        answers[i] = current;
      }

      expect(answers.map((a) => a.status).sort()).toEqual([202, 409, 409, 409, 409, 409, 409, 409]);
      const { rows } = await testDb().query<{ n: number }>('SELECT pipelines_run AS n FROM usage_quotas WHERE org_id = $1', [tenant.orgId]);
      expect(rows[0]?.n).toBe(1);
      const q = await api(quota.url, tenant, 'GET', '/v1/quota');
      expect(q.body.pipelines_run_today).toBe(1);
    } finally {
      proxy.target = held;
    }
  });

  it('replays the first answer for a repeated Idempotency-Key, and refuses the key with another body', async () => {
    const tenant = await newTenant();
    const key = `idem-${randomBytes(6).toString('hex')}`;

    const first = await trigger(tenant, 'demo_usage_daily', daysAgo(70), { 'idempotency-key': key });
    const repeat = await trigger(tenant, 'demo_usage_daily', daysAgo(70), { 'idempotency-key': key });
    const other = await trigger(tenant, 'demo_usage_daily', daysAgo(71), { 'idempotency-key': key });

    expect(first.status).toBe(202);
    expect(repeat.status).toBe(202);
    expect(repeat.body).toEqual(first.body);
    expect(other.status).toBe(409);
    const { rows } = await testDb().query<{ n: number }>('SELECT count(*)::int AS n FROM pipeline_runs WHERE org_id = $1', [tenant.orgId]);
    expect(rows[0]?.n).toBe(1);
  });

  it('does not stick a key whose first request died: past the request\'s own hold it is taken over; within it, 409 with Retry-After', async () => {
    const tenant = await newTenant();
    const scope = 'POST /v1/pipelines/demo_usage_daily/runs';
    const date = daysAgo(72);
    const dead = `idem-dead-${randomBytes(6).toString('hex')}`;
    const busy = `idem-busy-${randomBytes(6).toString('hex')}`;
    // As a request that reserved its key and died (crash, SIGKILL) leaves it: no answer, no run.
    const reserve = `INSERT INTO idempotency_keys (org_id, key, scope, request_hash, expires_at) VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`;
    await testDb().query(reserve, [tenant.orgId, dead, scope, requestHash(scope, { date }), -1]);
    await testDb().query(reserve, [tenant.orgId, busy, scope, requestHash(scope, { date }), 30]);

    const retried = await trigger(tenant, 'demo_usage_daily', date, { 'idempotency-key': dead });
    const meanwhile = await trigger(tenant, 'demo_usage_daily', daysAgo(73), { 'idempotency-key': busy });
    const sameBusy = await api(pipelines.url, tenant, 'POST', '/v1/pipelines/demo_usage_daily/runs', { date }, { 'idempotency-key': busy });

    expect(retried.status).toBe(202);
    expect(meanwhile.status).toBe(409); // another body under a held key
    expect(sameBusy.status).toBe(409);
    expect(Number(sameBusy.headers.get('retry-after'))).toBeGreaterThan(0);
    const { rows } = await testDb().query<{ expires_in_s: number }>(
      `SELECT extract(epoch FROM expires_at - now())::float8 AS expires_in_s FROM idempotency_keys WHERE org_id = $1 AND key = $2`,
      [tenant.orgId, dead],
    );
    // Answered: replayable for 24 h from the answer.
    expect(rows[0]?.expires_in_s).toBeGreaterThan(23 * 3600);
  });

  it('answers a retry after a lost answer with the run the first request queued: no second run, no quota spent twice', async () => {
    const tenant = await newTenant();
    const key = `idem-lost-${randomBytes(6).toString('hex')}`;
    const date = daysAgo(74);
    const first = await trigger(tenant, 'demo_usage_daily', date, { 'idempotency-key': key });
    expect(first.status).toBe(202);
    // The answer never reached the key (the process died after the commit): unanswered, hold over.
    await testDb().query(`UPDATE idempotency_keys SET status = NULL, response = NULL, expires_at = now() - interval '1 second' WHERE org_id = $1 AND key = $2`, [
      tenant.orgId,
      key,
    ]);

    const retry = await trigger(tenant, 'demo_usage_daily', date, { 'idempotency-key': key });

    expect(retry.status).toBe(202);
    expect(retry.body).toEqual({ run_id: first.body.run_id, status: 'queued' });
    const runs = await testDb().query<{ n: number }>('SELECT count(*)::int AS n FROM pipeline_runs WHERE org_id = $1', [tenant.orgId]);
    expect(runs.rows[0]?.n).toBe(1);
    const quotaRow = await testDb().query<{ n: number }>('SELECT pipelines_run AS n FROM usage_quotas WHERE org_id = $1', [tenant.orgId]);
    expect(quotaRow.rows[0]?.n).toBe(1);
  });

  it('fingerprints the request as sent: an empty body is the same request whatever day its default date falls on', async () => {
    const tenant = await newTenant();
    const key = `idem-empty-${randomBytes(6).toString('hex')}`;
    const scope = 'POST /v1/pipelines/demo_usage_daily/runs';

    const first = await api(pipelines.url, tenant, 'POST', '/v1/pipelines/demo_usage_daily/runs', {}, { 'idempotency-key': key });

    expect(first.status).toBe(202);
    const { rows } = await testDb().query<{ request_hash: string }>('SELECT request_hash FROM idempotency_keys WHERE org_id = $1 AND key = $2', [tenant.orgId, key]);
    // Not the hash of the defaulted {date: yesterday}, which changes at midnight UTC.
    expect(rows[0]?.request_hash).toBe(requestHash(scope, {}));
  });

  it('answers 503 and keeps nothing when the run cannot be published', async () => {
    const tenant = await newTenant();
    // A pipelines process whose Pub/Sub is unreachable (nothing listens on port 9).
    const cut = await startFunctionProcess({
      source: sources.pipelines as string,
      target: 'pipelines',
      env: { ...functionEnv('pipelines'), ...commonEnv(), PUBSUB_EMULATOR_HOST: '127.0.0.1:9' },
      healthTimeoutMs: 90_000,
    });
    try {
      const answer = await api(cut.url, tenant, 'POST', '/v1/pipelines/demo_usage_daily/runs', { date: daysAgo(80) });

      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('UNAVAILABLE');
      expect(answer.headers.get('retry-after')).not.toBeNull();
      const runs = await testDb().query('SELECT 1 FROM pipeline_runs WHERE org_id = $1', [tenant.orgId]);
      expect(runs.rows).toHaveLength(0);
      const q = await api(quota.url, tenant, 'GET', '/v1/quota');
      expect(q.body.pipelines_run_today).toBe(0);
    } finally {
      await cut.stop('SIGKILL');
    }
  });

  it('lists the org\'s runs newest first in keyset pages, filtered, and refuses a tampered cursor', async () => {
    const tenant = await newTenant();
    const ids: string[] = [];
    for (const n of [100, 101, 102]) ids.push((await trigger(tenant, 'demo_usage_daily', daysAgo(n))).body.run_id);

    const first = await api(pipelines.url, tenant, 'GET', '/v1/pipelines/runs?limit=2');
    const second = await api(pipelines.url, tenant, 'GET', `/v1/pipelines/runs?limit=2&cursor=${encodeURIComponent(first.body.next_cursor)}`);
    const filtered = await api(pipelines.url, tenant, 'GET', '/v1/pipelines/runs?pipeline_id=openai_usage_daily');
    const tampered = await api(pipelines.url, tenant, 'GET', `/v1/pipelines/runs?limit=2&cursor=${encodeURIComponent(first.body.next_cursor)}x`);

    expect(first.body.items.map((r: { run_id: string }) => r.run_id)).toEqual([ids[2], ids[1]]);
    expect(Object.keys(first.body.items[0]).sort()).toEqual(
      ['attempts', 'cost_usd', 'created_at', 'date', 'error', 'finished_at', 'pipeline_id', 'rows_loaded', 'run_id', 'started_at', 'status', 'unpriced_rows'],
    );
    expect(second.body).toEqual({ items: [expect.objectContaining({ run_id: ids[0] })], next_cursor: null });
    expect(filtered.body).toEqual({ items: [], next_cursor: null });
    expect(tampered.status).toBe(400);
  });

  it('answers 404 for an unknown pipeline and for a provider without a stored integration', async () => {
    const tenant = await newTenant();

    expect((await trigger(tenant, 'nope_usage_daily', daysAgo(1))).status).toBe(404);
    expect((await trigger(tenant, 'openai_usage_daily', daysAgo(1))).status).toBe(404);
  });
});

describe('a worker that dies or stops mid-run', () => {
  it('is taken over by the redelivery once its lease expires; the day is loaded once', async () => {
    const tenant = await newTenant();
    await storeCredential(tenant, 'openai', ADMIN_KEY);
    const date = daysAgo(90);
    openai.script.push({ kind: 'hang' });
    // The instance that will die has a short deadline, so its lease (which ends at its
    // deadline) is short: the first redelivery the replacement gets waits for it to end and
    // takes the run over. The replacement is up beforehand, as Cloud Run would have one, so
    // the kill comes right after the claim.
    const replacement = await startFunctionProcess({ source: sources['pipeline-worker'] as string, target: 'pipeline-worker', signatureType: 'cloudevent', env: workerEnv(), healthTimeoutMs: 90_000 });
    const dying = await startFunctionProcess({
      source: sources['pipeline-worker'] as string,
      target: 'pipeline-worker',
      signatureType: 'cloudevent',
      env: workerEnv({ FUNCTION_TIMEOUT_SECONDS: '6' }),
      healthTimeoutMs: 90_000,
    });
    const previous = worker;
    proxy.target = dying.url;
    worker = dying;
    await previous.stop('SIGTERM');

    const accepted = await trigger(tenant, 'openai_usage_daily', date);
    await waitForRun(tenant, accepted.body.run_id, 'running');
    dying.child.kill('SIGKILL');
    proxy.target = replacement.url;
    worker = replacement;

    const done = await waitForRun(tenant, accepted.body.run_id, ['succeeded', 'failed'], 90_000);
    expect(done).toMatchObject({ status: 'succeeded' });
    // The dead worker's attempt was 1; the takeover is 2 — or later, when a takeover attempt
    // failed transiently on a busy machine and gave the run back for the next delivery.
    expect(done.attempts).toBeGreaterThanOrEqual(2);
    expect((await dayRows(tenant, date)).every((r) => r.copies === 1)).toBe(true);
  }, 150_000);

  it('on SIGTERM gives the run back within the grace period and the redelivery finishes it, loaded once', async () => {
    const tenant = await newTenant();
    await storeCredential(tenant, 'openai', ADMIN_KEY);
    const date = daysAgo(91);
    openai.script.push({ kind: 'hang' });

    // The next instance is up before the stop, as Cloud Run would have one: the redelivery of
    // the given-back run must find a worker, not spend the subscription's attempts on a
    // process that is still starting.
    const next = await startFunctionProcess({ source: sources['pipeline-worker'] as string, target: 'pipeline-worker', signatureType: 'cloudevent', env: workerEnv(), healthTimeoutMs: 90_000 });

    const accepted = await trigger(tenant, 'openai_usage_daily', date);
    await waitForRun(tenant, accepted.body.run_id, 'running');
    const stopping = worker.stop('SIGTERM');
    proxy.target = next.url;
    const { code, ms } = await stopping;
    worker = next;
    expect(code).toBe(0);
    expect(ms).toBeLessThan(10_000);

    const done = await waitForRun(tenant, accepted.body.run_id, ['succeeded', 'failed'], 90_000);
    expect(done).toMatchObject({ status: 'succeeded' });
    // The dead worker's attempt was 1; the takeover is 2 — or later, when a takeover attempt
    // failed transiently on a busy machine and gave the run back for the next delivery.
    expect(done.attempts).toBeGreaterThanOrEqual(2);
    expect((await dayRows(tenant, date)).every((r) => r.copies === 1)).toBe(true);
  }, 150_000);
});

/*
 * Cost truth, through the real path: trigger → Pub/Sub emulator → worker → fake provider
 * (the documented response shapes) → BigQuery → /v1/costs. Each case states the provider's
 * list price it expects, to the cent.
 */
describe('cost truth', () => {
  /** Runs one pipeline for one day and waits for it to succeed. */
  async function runDay(tenant: TestTenant, pipelineId: string, date: string): Promise<any> {
    const accepted = await trigger(tenant, pipelineId, date);
    expect(accepted.status).toBe(202);
    return waitForRun(tenant, accepted.body.run_id, 'succeeded', 90_000);
  }

  async function costsOf(tenant: TestTenant, from: string, to: string, groupBy: string): Promise<any> {
    const answer = await api(costs.url, tenant, 'GET', `/v1/costs?from=${from}&to=${to}&group_by=${groupBy}`);
    expect(answer.status).toBe(200);
    return answer.body;
  }

  it('prices Sonnet usage that is 90 % cache reads at Anthropic\'s list prices, class by class, with Anthropic\'s bill beside it', { timeout: 120_000 }, async () => {
    const tenant = await newTenant();
    await storeCredential(tenant, 'anthropic', ADMIN_KEY);
    const date = daysAgo(6);
    anthropic.usage = [{ date, model: 'claude-sonnet-4-5-20250929', tokens: { input_uncached: 1_000_000, input_cached: 9_000_000, output: 100_000 }, providers: ['anthropic'] }];
    anthropic.billed = [
      { date, description: 'Claude Sonnet 4.5 Usage - Input Tokens', amount_usd: '3.00', model: 'claude-sonnet-4-5-20250929', service_tier: 'standard', providers: ['anthropic'] },
      { date, description: 'Claude Sonnet 4.5 Usage - Cache Read', amount_usd: '2.70', model: 'claude-sonnet-4-5-20250929', service_tier: 'standard', providers: ['anthropic'] },
      { date, description: 'Claude Sonnet 4.5 Usage - Output Tokens', amount_usd: '1.5123', model: 'claude-sonnet-4-5-20250929', service_tier: 'standard', providers: ['anthropic'] },
    ];
    try {
      const done = await runDay(tenant, 'anthropic_usage_daily', date);
      const view = await costsOf(tenant, date, date, 'model');

      // $3 / 1M uncached input, $0.30 / 1M cache reads, $15 / 1M output (the catalogue's Sonnet 4.5 entry):
      // 1M × 3 + 9M × 0.30 + 0.1M × 15 = 3 + 2.70 + 1.50 = $7.20.
      expect(done.cost_usd).toBe(7.2);
      expect(view.totals.cost_usd).toBe(7.2);
      // The old rule summed every input class and priced it at the input rate: 10M × $3 + $1.50 = $31.50, 4.4× the truth.
      const oldRule = 10 * 3 + 1.5;
      expect(oldRule / view.totals.cost_usd).toBeGreaterThan(4);
      const [row] = view.rows;
      expect(row).toMatchObject({ key: 'claude-sonnet-4-5-20250929', cost_usd: 7.2, billed_cost_usd: 7.2123, input_tokens: 10_000_000, output_tokens: 100_000, unpriced_tokens: 0 });
      expect(row.tokens).toMatchObject({ input_uncached: 1_000_000, input_cached: 9_000_000, output: 100_000 });
      expect(view.totals.billed_cost_usd).toBe(7.2123);
    } finally {
      anthropic.usage = [];
      anthropic.billed = [];
    }
  });

  it('prices dated OpenAI snapshots by their model\'s snapshots entry (gpt-4o never prices gpt-4o-mini-…), batch at half, an unpriced class counted', { timeout: 120_000 }, async () => {
    const tenant = await newTenant();
    await storeCredential(tenant, 'openai', ADMIN_KEY);
    const date = daysAgo(7);
    openai.usage = [
      { date, model: 'gpt-4o-mini-2024-07-18', requests: 10, tokens: { input_uncached: 1_000_000, output: 1_000_000 }, providers: ['openai'] },
      { date, model: 'gpt-4o-mini-2024-07-18', tier: 'batch', requests: 5, tokens: { input_uncached: 1_000_000 }, providers: ['openai'] },
      { date, model: 'gpt-4o-2024-08-06', requests: 3, tokens: { input_uncached: 1_000_000, input_cached: 1_000_000, input_audio: 1_000 }, providers: ['openai'] },
    ];
    openai.billed = null; // no costs figure: billed_cost_usd is null, never 0
    try {
      await runDay(tenant, 'openai_usage_daily', date);
      const byModel = await costsOf(tenant, date, date, 'model');
      const byTier = await costsOf(tenant, date, date, 'service_tier');

      const model = (key: string): any => byModel.rows.find((r: { key: string }) => r.key === key);
      // gpt-4o-mini: $0.15 in, $0.60 out per 1M; batch half of $0.15.
      expect(model('gpt-4o-mini-2024-07-18')).toMatchObject({ cost_usd: 0.825, billed_cost_usd: null, unpriced_tokens: 0 });
      // gpt-4o: $2.50 in, $1.25 cached; its 1,000 audio tokens have no price in its entry: counted, cost 0.
      expect(model('gpt-4o-2024-08-06')).toMatchObject({ cost_usd: 3.75, unpriced_tokens: 1_000 });
      expect(byTier.rows.map((r: { key: string; cost_usd: number }) => [r.key, r.cost_usd])).toEqual([
        ['batch', 0.075],
        ['standard', 4.5],
      ]);
      expect(byModel.totals).toMatchObject({ cost_usd: 4.575, unpriced_tokens: 1_000, billed_cost_usd: null, demo_cost_usd: 0 });
    } finally {
      openai.usage = [];
      openai.billed = [];
    }
  });

  it('reprices a re-run day with the price in force that day: an org entry from the 15th overrides the catalogue on the 15th, not the 14th', { timeout: 180_000 }, async () => {
    const tenant = await newTenant();
    await storeCredential(tenant, 'openai', ADMIN_KEY);
    const [d14, d15] = [daysAgo(9), daysAgo(8)];
    openai.usage = [d14, d15].map((date) => ({ date, model: 'gpt-4o-mini-2024-07-18', requests: 1, tokens: { input_uncached: 1_000_000 }, providers: ['openai'] as const }));
    openai.billed = [];
    try {
      await runDay(tenant, 'openai_usage_daily', d14);
      await runDay(tenant, 'openai_usage_daily', d15);
      const before = await costsOf(tenant, d14, d15, 'day');
      // A negotiated rate from the 15th: $0.10 per 1M input.
      const put = await api(pricing.url, tenant, 'PUT', '/v1/pricing/openai/gpt-4o-mini', { effective_from: d15, prices_per_mtok_usd: { input: '0.10', output: '0.40' } });
      expect(put.status).toBe(200);
      // Loaded days keep their cost until their pipeline runs again for that date.
      expect((await costsOf(tenant, d14, d15, 'day')).rows.map((r: { cost_usd: number }) => r.cost_usd)).toEqual([0.15, 0.15]);

      await runDay(tenant, 'openai_usage_daily', d14);
      await runDay(tenant, 'openai_usage_daily', d15);
      const after = await costsOf(tenant, d14, d15, 'day');

      expect(before.rows.map((r: { key: string; cost_usd: number }) => [r.key, r.cost_usd])).toEqual([
        [d14, 0.15],
        [d15, 0.15],
      ]);
      expect(after.rows.map((r: { key: string; cost_usd: number }) => [r.key, r.cost_usd])).toEqual([
        [d14, 0.15],
        [d15, 0.1],
      ]);
    } finally {
      openai.usage = [];
    }
  });

  it('keeps real rows through demo → real → demo runs of one date, labels demo spend, and deletes exactly the demo rows', { timeout: 180_000 }, async () => {
    const tenant = await newTenant();
    await storeCredential(tenant, 'openai', ADMIN_KEY);
    const date = daysAgo(10);
    openai.usage = [{ date, model: 'gpt-4o-mini-2024-07-18', requests: 1, tokens: { input_uncached: 2_000_000 }, providers: ['openai'] }];
    openai.billed = [{ date, description: 'input_tokens', amount_usd: '0.31', providers: ['openai'] }];
    try {
      const demoRun = await runDay(tenant, 'demo_usage_daily', date);
      await runDay(tenant, 'openai_usage_daily', date);
      await runDay(tenant, 'demo_usage_daily', date);

      const rows = await dayRows(tenant, date);
      const real = rows.filter((r) => r.source === 'openai_usage_daily');
      const demo = rows.filter((r) => r.source === 'demo_usage_daily');
      expect(real).toEqual([{ source: 'openai_usage_daily', provider: 'openai', model: 'gpt-4o-mini-2024-07-18', copies: 1, cost: '0.300000000' }]);
      expect(demo.length).toBe(demoRun.rows_loaded);
      expect(rows.every((r) => r.copies === 1)).toBe(true);
      const bySource = await costsOf(tenant, date, date, 'source');
      const demoCost = bySource.rows.find((r: { key: string }) => r.key === 'demo_usage_daily').cost_usd;
      expect(bySource.rows.find((r: { key: string }) => r.key === 'openai_usage_daily')).toMatchObject({ cost_usd: 0.3, billed_cost_usd: 0.31 });
      expect(bySource.totals.demo_cost_usd).toBe(demoCost);
      expect(demoCost).toBeGreaterThan(0);

      const deleted = await api(pipelines.url, tenant, 'DELETE', '/v1/pipelines/demo_usage_daily/data');

      expect(deleted.status).toBe(204);
      expect(await dayRows(tenant, date)).toEqual(real);
      const afterDelete = await costsOf(tenant, date, date, 'source');
      expect(afterDelete.rows.map((r: { key: string }) => r.key)).toEqual(['openai_usage_daily']);
      expect(afterDelete.totals).toMatchObject({ cost_usd: 0.3, demo_cost_usd: 0, billed_cost_usd: 0.31 });
    } finally {
      openai.usage = [];
      openai.billed = [];
    }
  });
});

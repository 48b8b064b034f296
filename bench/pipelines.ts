/**
 * `npm run bench:pipelines` (issue 11): 50 orgs × 1 day of `demo_usage_daily` through real
 * processes — the pipelines function, the pipeline-worker behind a push subscription of the
 * official Pub/Sub emulator, PostgreSQL and the local BigQuery endpoint — all 50 triggered
 * at once. The same 50-run burst is measured with 1 worker process and with 2 (Cloud Run's
 * max instances for the worker), and the trigger answers beside a bare `GET /healthz` of
 * the same process. A 10k-row replace of one day through the worker's own `replaceDay`,
 * against the same endpoint, gives the BigQuery load time per 10k rows.
 *
 * Prints numbers only; asserts nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BigQuery } from '@google-cloud/bigquery';
import pg from 'pg';
import { functionEnv, getFunction } from '../deploy/manifest.js';
import { localBigQueryOptions, startBigQueryEndpoint } from '../dev/bigquery/index.js';
import { startFunctionProcess, type FunctionProcess } from '../dev/functionProcess.js';
import { bundleFunction } from '../test/fixtures/runtime/functionsFramework.js';
import { PubSubAdmin, startPubSubEmulator } from '../dev/pubsub/index.js';
import { generateApiKey } from '../shared/auth/index.js';
import { centralDataset, ensureDatasetDefinition, orgDataset } from '../shared/analytics/index.js';
import { closeClients } from '../shared/clients/index.js';
import { LocalFileKek } from '../shared/crypto/index.js';
import { demoUsageForDay } from '../shared/demo/index.js';
import { catalogueEntries, priceUsage, type PricedUsageRow } from '../shared/pricing/index.js';
import { tokenCounts } from '../shared/usage/index.js';
import { runQuery } from '../shared/bigquery/index.js';
import { benchDatabase } from './quota.js';
import { quantile, table } from './lib/measure.js';

const PROJECT = 'local-project';
const ORGS = Number(process.env.BENCH_PIPELINE_ORGS ?? 50);
const PIPELINE = 'demo_usage_daily';
const LOAD_REPETITIONS = 5;
/** How long one burst may take before the bench gives up on it. */
const BURST_TIMEOUT_MS = 10 * 60_000;

interface Tenant {
  orgId: string;
  orgSlug: string;
  apiKey: string;
}

interface BurstResult {
  label: string;
  succeeded: number;
  failed: number;
  /** First trigger sent → last run finished, ms. */
  wallMs: number;
  /** Trigger sent → run's `finished_at`, ms, per succeeded run. */
  latencies: number[];
  /** `started_at` − `created_at` per succeeded run: queued until a worker claimed it, ms. */
  queuedMs: number[];
  /** `finished_at` − `started_at` per succeeded run: the worker's own time, ms. */
  workMs: number[];
  /** POST answer times, ms. */
  triggerMs: number[];
  rowsLoaded: number;
  peak: Peak;
  /** Deliveries (redeliveries included) per worker process. */
  delivered: number[];
  /** Of the concurrent cold-key GETs before the burst, how many the auth lookup gate refused (503). */
  coldRefused: number;
}

interface Peak {
  pipelines: number;
  worker: number;
  total: number;
}

/**
 * The push endpoint: round-robin over the worker processes that are "up", at most the
 * manifest's per-instance concurrency in flight per process; a delivery that finds every
 * process full waits for a slot — as Cloud Run holds a request while all instances (up to
 * max instances) are at their concurrency.
 */
interface Relay {
  url: string;
  /** The worker processes that are up; setting it resets the round-robin and the counts. */
  targets: string[];
  /** Deliveries forwarded per target since `targets` was last set. */
  readonly delivered: number[];
  close(): void;
}

function startRelay(concurrency: number): Promise<Relay> {
  const state = { targets: [] as string[], next: 0 };
  const delivered = new Map<string, number>();
  const inFlight = new Map<string, number>();
  const waiting: (() => void)[] = [];
  const pick = (): string | undefined => {
    for (let i = 0; i < state.targets.length; i += 1) {
      const target = state.targets[(state.next + i) % state.targets.length] as string;
      if ((inFlight.get(target) ?? 0) < concurrency) {
        state.next = (state.next + i + 1) % state.targets.length;
        return target;
      }
    }
    return undefined;
  };
  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const target = pick();
    if (target === undefined) {
      waiting.push(() => forward(req, res, body));
      return;
    }
    inFlight.set(target, (inFlight.get(target) ?? 0) + 1);
    delivered.set(target, (delivered.get(target) ?? 0) + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      inFlight.set(target, (inFlight.get(target) ?? 1) - 1);
      waiting.shift()?.();
    };
    const upstream = httpRequest(`${target}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('end', release);
      answer.on('error', release);
    });
    upstream.on('error', () => {
      release();
      res.destroy();
    });
    upstream.end(body);
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (state.targets.length === 0) {
        res.writeHead(503).end();
        return;
      }
      forward(req, res, Buffer.concat(chunks));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        get targets() {
          return state.targets;
        },
        set targets(value: string[]) {
          state.targets = value;
          state.next = 0;
          delivered.clear();
        },
        get delivered() {
          return state.targets.map((t) => delivered.get(t) ?? 0);
        },
        close: () => {
          server.closeAllConnections();
          server.close();
        },
      }),
    ),
  );
}

/** Samples the function processes' backends every ~50 ms; `stop()` returns the peaks. */
function connectionSampler(admin: pg.Pool): { stop(): Promise<Peak> } {
  const peak: Peak = { pipelines: 0, worker: 0, total: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const { rows } = await admin.query<{ pipelines: number; worker: number }>(
          `SELECT count(*) FILTER (WHERE application_name LIKE 'pipelines:%')::int AS pipelines,
                  count(*) FILTER (WHERE application_name LIKE 'pipeline-worker:%')::int AS worker
             FROM pg_stat_activity`,
        );
        const r = rows[0] ?? { pipelines: 0, worker: 0 };
        peak.pipelines = Math.max(peak.pipelines, r.pipelines);
        peak.worker = Math.max(peak.worker, r.worker);
        peak.total = Math.max(peak.total, r.pipelines + r.worker);
      } catch {
        // a sample lost is a sample lost
      }
      await sleep(50);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return peak;
    },
  };
}

async function createTenants(admin: pg.Pool, bigquery: BigQuery, n: number): Promise<Tenant[]> {
  const tenants: Tenant[] = [];
  for (let i = 0; i < n; i += 1) {
    const orgSlug = `bench_${randomBytes(5).toString('hex')}`;
    const key = generateApiKey();
    // Paid plans only, so the daily quota never refuses a trigger.
    const plan = i % 2 === 0 ? 'pro' : 'enterprise';
    const org = await admin.query<{ id: string }>(
      `INSERT INTO orgs (org_slug, name, plan, admin_email, status) VALUES ($1, $1, $2, 'bench@example.com', 'active') RETURNING id`,
      [orgSlug, plan],
    );
    const orgId = (org.rows[0] as { id: string }).id;
    await admin.query('INSERT INTO api_keys (org_id, key_hash, prefix) VALUES ($1, $2, $3)', [orgId, key.hash, key.prefix]);
    tenants.push({ orgId, orgSlug, apiKey: key.key });
  }
  // Onboarding creates the org's dataset; a few at a time so the endpoint is not the bottleneck of set-up.
  for (let i = 0; i < tenants.length; i += 5) {
    await Promise.all(tenants.slice(i, i + 5).map((t) => ensureDatasetDefinition(bigquery, orgDataset(t.orgSlug), { location: 'US' })));
  }
  return tenants;
}

async function timedFetch(url: string, init?: RequestInit): Promise<{ status: number; ms: number; body: string }> {
  const started = performance.now();
  const res = await fetch(url, init);
  const body = await res.text();
  return { status: res.status, ms: performance.now() - started, body };
}

/** Triggers one run per tenant, all at once, and waits for every run to finish. */
async function burst(label: string, pipelines: FunctionProcess, admin: pg.Pool, tenants: Tenant[], date: string): Promise<BurstResult> {
  // New keys are in no cache, and the function looks up at most AUTH_MAX_CONCURRENT_LOOKUPS
  // (1 at pool max 1) uncached keys at once, refusing the rest with 503 + Retry-After. A
  // burst of 50 first-ever calls would measure that gate, not the pipeline; so the keys are
  // used once first (as an org's console would), and the refusals of a concurrent cold
  // round are counted and reported beside the numbers.
  const list = (t: Tenant): Promise<{ status: number; ms: number; body: string }> =>
    timedFetch(`${pipelines.url}/v1/pipelines/runs`, { headers: { authorization: `Bearer ${t.apiKey}` } });
  const cold = await Promise.all(tenants.map(list));
  for (const t of tenants) {
    const warm = await list(t);
    if (warm.status !== 200) throw new Error(`${label}: GET /v1/pipelines/runs answered ${warm.status}: ${warm.body}`);
  }
  const sampler = connectionSampler(admin);
  const sentAt = new Map<string, number>();
  const firstSent = Date.now();
  const answers = await Promise.all(
    tenants.map(async (t) => {
      const sent = Date.now();
      const answer = await timedFetch(`${pipelines.url}/v1/pipelines/${PIPELINE}/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ date }),
      });
      if (answer.status !== 202) throw new Error(`${label}: trigger answered ${answer.status}: ${answer.body}`);
      const runId = (JSON.parse(answer.body) as { run_id: string }).run_id;
      sentAt.set(runId, sent);
      return answer;
    }),
  );
  const ids = [...sentAt.keys()];
  let rows: { id: string; status: string; created: number; started: number | null; finished: number | null; rows_loaded: number }[] = [];
  const until = Date.now() + BURST_TIMEOUT_MS;
  for (;;) {
    ({ rows } = await admin.query(
      `SELECT id, status, rows_loaded::int AS rows_loaded, (extract(epoch FROM created_at) * 1000)::float8 AS created,
              (extract(epoch FROM started_at) * 1000)::float8 AS started, (extract(epoch FROM finished_at) * 1000)::float8 AS finished
         FROM pipeline_runs WHERE id = ANY($1::uuid[])`,
      [ids],
    ));
    if (rows.every((r) => r.status === 'succeeded' || r.status === 'failed')) break;
    if (Date.now() > until) throw new Error(`${label}: runs not finished after ${BURST_TIMEOUT_MS} ms`);
    await sleep(100);
  }
  const peak = await sampler.stop();
  const done = rows.filter((r) => r.status === 'succeeded');
  const lastFinished = Math.max(...done.map((r) => r.finished ?? 0));
  return {
    label,
    succeeded: done.length,
    failed: rows.length - done.length,
    wallMs: lastFinished - firstSent,
    latencies: done.map((r) => (r.finished ?? 0) - (sentAt.get(r.id) ?? 0)),
    queuedMs: done.map((r) => (r.started ?? 0) - r.created),
    workMs: done.map((r) => (r.finished ?? 0) - (r.started ?? 0)),
    triggerMs: answers.map((a) => a.ms),
    rowsLoaded: done.reduce((sum, r) => sum + r.rows_loaded, 0),
    peak,
    delivered: [],
    coldRefused: cold.filter((c) => c.status === 503).length,
  };
}

/** `n` priced rows of one day at the provider's grain: distinct per (model, tier, project, key), every class filled. */
function syntheticRows(date: string, n: number): PricedUsageRow[] {
  const providers = ['openai', 'anthropic'];
  return Array.from({ length: n }, (_, i) => ({
    usage_date: date,
    provider: providers[i % 2] as string,
    model: `bench-model-${i % 50}`,
    service_tier: ['standard', 'batch', 'flex', 'priority'][i % 4] as string,
    project_id: `proj_${Math.floor(i / 200) % 10}`,
    api_key_id: `key_${i}`,
    requests: 100 + (i % 50),
    tokens: tokenCounts({ input_uncached: 10_000 + i, input_cached: 5_000, cache_write_5m: 100, cache_write_1h: 50, output: 2_000 + i, input_audio: 10, output_audio: 5, input_image: 20 }),
    cost_nanos: 123_456_789n,
    cost_usd: '0.123456789',
    unpriced_tokens: 0,
    price_entry: 'catalogue:openai/bench/snapshots/standard/1970-01-01',
  }));
}

/**
 * The baseline: the load as it was before per-class pricing — one row per (provider,
 * model), seven values each, `DELETE` by provider — into the same table, so both grains are
 * timed against the same endpoint in the same run.
 */
async function oldGrainLoad(orgSlug: string, date: string, rows: readonly PricedUsageRow[]): Promise<void> {
  const table = `\`org_${orgSlug}.llm_usage_daily\``;
  await runQuery({
    sql: [
      'BEGIN TRANSACTION;',
      `DELETE FROM ${table} WHERE usage_date = @date AND source IS NULL;`,
      `INSERT INTO ${table} (usage_date, org_slug, provider, model, requests, input_tokens, output_tokens, cost_usd, pipeline_run_id, loaded_at)
       SELECT @date, @org, r.provider, r.model, r.requests, r.input_tokens, r.output_tokens, CAST(r.cost_usd AS NUMERIC), 'old', CURRENT_TIMESTAMP()
         FROM UNNEST(@rows) AS r;`,
      'COMMIT TRANSACTION;',
    ].join('\n'),
    params: {
      date: BigQuery.date(date),
      org: orgSlug,
      rows: rows.map((r) => ({ provider: r.provider, model: `${r.model}-${r.api_key_id ?? ''}`, requests: r.requests, input_tokens: 15_180, output_tokens: 2_005, cost_usd: r.cost_usd })),
    },
    types: {
      date: 'DATE',
      org: 'STRING',
      rows: [{ provider: 'STRING', model: 'STRING', requests: 'INT64', input_tokens: 'INT64', output_tokens: 'INT64', cost_usd: 'STRING' }],
    },
    tier: 'batch',
  });
}

/** The worker's `replaceDay` (new grain) and the old grain's load, in this process against the same endpoint: ms per call. */
async function loadTimes(bigquery: BigQuery, sizes: number[]): Promise<{ rows: number; ms: number[]; oldMs: number[] }[]> {
  const { replaceDay } = await import('../functions/pipeline-worker/load.js');
  const orgSlug = `bench_load_${randomBytes(4).toString('hex')}`;
  await ensureDatasetDefinition(bigquery, orgDataset(orgSlug), { location: 'US' });
  const date = new Date(Date.now() - 5 * 86_400_000).toISOString().slice(0, 10);
  const results: { rows: number; ms: number[]; oldMs: number[] }[] = [];
  for (const size of sizes) {
    const rows = syntheticRows(date, size);
    // One load first so every timed call replaces a full day (DELETE finds `size` rows).
    await replaceDay({ orgSlug, date, runId: 'warm-up', source: 'bench_usage_daily', rows, billed: null });
    await oldGrainLoad(orgSlug, date, rows);
    const ms: number[] = [];
    const oldMs: number[] = [];
    for (let i = 0; i < LOAD_REPETITIONS; i += 1) {
      let started = performance.now();
      await replaceDay({ orgSlug, date, runId: `bench-${size}-${i}`, source: 'bench_usage_daily', rows, billed: null });
      ms.push(performance.now() - started);
      started = performance.now();
      await oldGrainLoad(orgSlug, date, rows);
      oldMs.push(performance.now() - started);
    }
    results.push({ rows: size, ms, oldMs });
  }
  return results;
}

/** Rows a demo day has at the provider's grain, next to the old grain's (one per provider and model). */
function demoRowsPerDay(): { newGrain: number; oldGrain: number } {
  const rows = priceUsage(demoUsageForDay({ orgSlug: 'bench_demo', date: daysAgo(3) }), catalogueEntries()).rows;
  return { newGrain: rows.length, oldGrain: new Set(rows.map((r) => `${r.provider}|${r.model}`)).size };
}

function daysAgo(n: number): string {
  return new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
}

/** Runs the pipelines benchmark against `databaseUrl` (migrated). */
export async function benchPipelines({ databaseUrl }: { databaseUrl: string }): Promise<void> {
  const dir = path.join(process.cwd(), 'test', '.tmp', `bench-pipelines-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const kekFile = path.join(dir, 'kek.key');
  writeFileSync(kekFile, LocalFileKek.generateKeyFileContent(), { mode: 0o600 });
  const admin = new pg.Pool({ connectionString: databaseUrl, max: 3, application_name: 'bench' });
  const workerSpec = getFunction('pipeline-worker');
  const trigger = workerSpec.trigger;
  if (trigger.type !== 'topic') throw new Error('pipeline-worker is expected to have a topic trigger');

  const [emulator, endpoint] = await Promise.all([startPubSubEmulator({ projectId: PROJECT, readyTimeoutMs: 80_000 }), startBigQueryEndpoint({ port: 0 })]);
  const processes: FunctionProcess[] = [];
  const bundles: string[] = [];
  let relay: Relay | undefined;
  try {
    // This process calls `replaceDay` itself: the same endpoint and project as the functions.
    process.env.BIGQUERY_API_ENDPOINT = endpoint.url;
    process.env.GOOGLE_CLOUD_PROJECT = PROJECT;
    const bigquery = new BigQuery(localBigQueryOptions(endpoint.url, PROJECT));
    await ensureDatasetDefinition(bigquery, centralDataset(), { location: 'US' });
    const pubsub = new PubSubAdmin({ host: emulator.host, projectId: PROJECT });

    const common = {
      DATABASE_URL: databaseUrl,
      BIGQUERY_API_ENDPOINT: endpoint.url,
      GOOGLE_CLOUD_PROJECT: PROJECT,
      PUBSUB_EMULATOR_HOST: emulator.host,
      KEK_FILE: kekFile,
    };
    const [pipelinesSource, workerSource] = await Promise.all([
      bundleFunction('functions/pipelines/index.ts', 'bench-pipelines'),
      bundleFunction('functions/pipeline-worker/index.ts', 'bench-pipeline-worker'),
    ]);
    bundles.push(pipelinesSource, workerSource);
    const startWorker = (): Promise<FunctionProcess> =>
      startFunctionProcess({ source: workerSource, target: 'pipeline-worker', signatureType: 'cloudevent', env: { ...functionEnv('pipeline-worker'), ...common }, healthTimeoutMs: 90_000 });
    const [pipelines, workerA, workerB] = await Promise.all([
      startFunctionProcess({ source: pipelinesSource, target: 'pipelines', env: { ...functionEnv('pipelines'), ...common }, healthTimeoutMs: 90_000 }),
      startWorker(),
      startWorker(),
    ]);
    processes.push(pipelines, workerA, workerB);

    relay = await startRelay(workerSpec.concurrency);
    await pubsub.createTopic(trigger.topic);
    if (trigger.deadLetterTopic !== undefined) await pubsub.createTopic(trigger.deadLetterTopic);
    await pubsub.createSubscription('pipeline-worker', {
      topic: trigger.topic,
      pushEndpoint: `${relay.url}/`,
      ackDeadlineSeconds: trigger.ackDeadlineSeconds,
      retryPolicy: { minimumBackoffSeconds: trigger.minBackoffSeconds, maximumBackoffSeconds: trigger.maxBackoffSeconds },
      ...(trigger.deadLetterTopic === undefined
        ? {}
        : { deadLetterPolicy: { deadLetterTopic: trigger.deadLetterTopic, maxDeliveryAttempts: trigger.maxDeliveryAttempts } }),
    });

    // Warm both workers and the trigger path (JIT, pools, the central tables) off the clock.
    relay.targets = [workerA.url, workerB.url];
    await burst('warm-up', pipelines, admin, await createTenants(admin, bigquery, 4), daysAgo(2));

    const healthz = await Promise.all(Array.from({ length: ORGS }, () => timedFetch(`${pipelines.url}/healthz`)));
    const results: BurstResult[] = [];
    // Two rounds each, in the order 1-2-2-1, so neither setting always runs on a warmer process.
    for (const workers of [1, 2, 2, 1]) {
      const tenants = await createTenants(admin, bigquery, ORGS);
      relay.targets = workers === 1 ? [workerA.url] : [workerA.url, workerB.url];
      const result = await burst(`${workers} worker${workers === 1 ? '' : 's'}`, pipelines, admin, tenants, daysAgo(2));
      results.push({ ...result, delivered: relay.delivered });
    }
    const loads = await loadTimes(bigquery, [1_000, 10_000]);

    console.log(
      `\n${ORGS} orgs × 1 day of ${PIPELINE}, all triggered at once: pipelines → Pub/Sub emulator (push) → relay → pipeline-worker process(es) → local BigQuery; ` +
        `relay: round-robin, ≤ ${workerSpec.concurrency} deliveries in flight per worker (the manifest's concurrency), the rest wait`,
    );
    console.log(
      table(
        ['workers', 'ok', 'failed', 'rows loaded', 'deliveries per worker', 'wall s', 'runs/min', 'p50 trigger→succeeded ms', 'p95 ms', 'max ms', 'p50 queued→claimed ms', 'p50 worker ms', 'peak conns pipelines', 'peak conns workers', 'peak conns total'],
        results.map((r) => [
          r.label,
          String(r.succeeded),
          String(r.failed),
          String(r.rowsLoaded),
          r.delivered.join(' + '),
          r.wallMs / 1000,
          (r.succeeded * 60_000) / r.wallMs,
          quantile(r.latencies, 0.5),
          quantile(r.latencies, 0.95),
          Math.max(...r.latencies),
          quantile(r.queuedMs, 0.5),
          quantile(r.workMs, 0.5),
          String(r.peak.pipelines),
          String(r.peak.worker),
          String(r.peak.total),
        ]),
      ),
    );
    console.log(
      '(peak conns: backends whose application_name is pipelines:* or pipeline-worker:*, sampled every ~50 ms; both worker processes are up in every round, only the relay\'s targets change)',
    );
    console.log(
      `(before each burst, ${ORGS} concurrent first calls with the new keys: ${results.map((r) => `${r.coldRefused}`).join(' and ')} refused 503 by the auth lookup gate; ` +
        'the keys were then used once each, so the burst measures cached-key triggers)',
    );
    console.log(`\nthe ${ORGS} concurrent POST /v1/pipelines/${PIPELINE}/runs answers (202) vs ${ORGS} concurrent bare GET /healthz of the same process (ms)`);
    console.log(
      table(
        ['request', 'p50', 'p95', 'max'],
        [
          ...results.map((r) => [`POST trigger (${r.label})`, quantile(r.triggerMs, 0.5), quantile(r.triggerMs, 0.95), Math.max(...r.triggerMs)]),
          ['GET /healthz', quantile(healthz.map((h) => h.ms), 0.5), quantile(healthz.map((h) => h.ms), 0.95), Math.max(...healthz.map((h) => h.ms))],
        ],
      ),
    );
    const perDay = demoRowsPerDay();
    console.log(`\nRows per demo day: ${perDay.newGrain} at the provider's grain (model × tier × project × key, 8 token classes each) vs ${perDay.oldGrain} at the old grain (provider × model)`);
    console.log(`\nBigQuery load: the worker's replaceDay (DELETE + INSERT … UNNEST in one transaction, 25 columns a row) vs the old grain's load (10 columns) of one day against the same endpoint, ${LOAD_REPETITIONS} repetitions after one untimed load (ms)`);
    console.log(
      table(
        ['rows', 'new p50', 'new min', 'new max', 'new p50 per 10k rows', 'old p50', 'old p50 per 10k rows', 'new/old'],
        loads.map((l) => [
          String(l.rows),
          quantile(l.ms, 0.5),
          Math.min(...l.ms),
          Math.max(...l.ms),
          (quantile(l.ms, 0.5) * 10_000) / l.rows,
          quantile(l.oldMs, 0.5),
          (quantile(l.oldMs, 0.5) * 10_000) / l.rows,
          quantile(l.ms, 0.5) / quantile(l.oldMs, 0.5),
        ]),
      ),
    );
  } finally {
    relay?.close();
    await Promise.allSettled(processes.map((p) => p.stop()));
    await closeClients();
    await Promise.allSettled([emulator.stop(), endpoint.close(), admin.end()]);
    for (const folder of [dir, ...bundles]) rmSync(folder, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  process.env.METADATA_SERVER_DETECTION = 'none';
  const db = await benchDatabase();
  try {
    await benchPipelines({ databaseUrl: db.url });
  } finally {
    await db.stop();
  }
}

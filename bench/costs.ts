/**
 * Benchmark of `GET /v1/costs` over 90 days of demo usage, with the local BigQuery
 * endpoint's own numbers beside it:
 *
 *   npx tsx bench/costs.ts
 *
 * - endpoint start-up: an in-memory `startBigQueryEndpoint()` until it listens;
 * - costs: 200 sequential requests per `group_by` through HTTP (the function served
 *   in-process by functions-framework's own server) with the answer cache disabled
 *   (`COSTS_CACHE_TTL_MS=0`), so every request authenticates and runs one BigQuery job;
 * - endpoint raw: `benchBigQueryEndpoint` (trivial parameterised queries, 20 concurrent
 *   callers) — the ceiling the costs numbers sit under.
 *
 * Uses `DATABASE_URL` when set, otherwise starts an embedded PostgreSQL in a temporary
 * directory. Run it in its own process: it sets the function's environment and loads its
 * module, whose clients are per process. Prints numbers; asserts nothing.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { isMain } from '../deploy/isMain.js';
import { migrate } from '../deploy/migrate.js';
import { benchBigQueryEndpoint } from '../dev/bigquery/bench.js';
import { startBigQueryEndpoint } from '../dev/bigquery/index.js';
import { startLocalPostgres, type LocalPostgres } from '../dev/postgres.js';
import { seedDemoUsage } from '../dev/seedDemo.js';
import { generateApiKey } from '../shared/auth/index.js';
import { closeClients } from '../shared/clients/index.js';
import { setLogSink } from '../shared/log/index.js';

const REQUESTS_PER_GROUPING = 200;
const WARM_UP = 10;
const END_DATE = '2024-03-31';
const FROM = '2024-01-02'; // 90 days ending END_DATE

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

const round = (n: number): number => Math.round(n * 100) / 100;

async function createOrg(databaseUrl: string, orgSlug: string): Promise<string> {
  const key = generateApiKey();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const org = await client.query<{ id: string }>(
      // Upsert: a reused DATABASE_URL may hold the org from an earlier run.
      `INSERT INTO orgs (org_slug, name, plan, admin_email, status) VALUES ($1, $1, 'pro', $2, 'active')
       ON CONFLICT (org_slug) DO UPDATE SET status = 'active' RETURNING id`,
      [orgSlug, `${orgSlug}@example.com`],
    );
    await client.query(`INSERT INTO api_keys (org_id, key_hash, prefix) VALUES ($1, $2, $3)`, [org.rows[0]?.id, key.hash, key.prefix]);
  } finally {
    await client.end();
  }
  return key.key;
}

/** Runs the benchmark; see the module comment. */
export async function benchCosts(): Promise<Record<string, unknown>> {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const cleanups: (() => Promise<void> | void)[] = [];
  // One access-log line per request would flood the terminal; lines are still built
  // (that cost stays in the numbers), only the write is dropped.
  cleanups.push(setLogSink(() => undefined));
  try {
    let databaseUrl = process.env.DATABASE_URL;
    if (databaseUrl === undefined || databaseUrl === '') {
      const postgres: LocalPostgres = await startLocalPostgres({ database: 'bench', persistent: false });
      cleanups.push(() => postgres.stop());
      databaseUrl = postgres.url;
    }
    await migrate(databaseUrl, { log: () => undefined });

    const t0 = performance.now();
    const endpoint = await startBigQueryEndpoint({ port: 0 });
    const endpointStartupMs = performance.now() - t0;
    cleanups.push(() => endpoint.close());

    // A fixed org, so the seeded data (and the work per request) is the same in every run.
    const orgSlug = 'bench_costs';
    const apiKey = await createOrg(databaseUrl, orgSlug);
    const seedStarted = performance.now();
    const seeded = await seedDemoUsage({ orgSlug, days: 90, endDate: END_DATE, bigqueryUrl: endpoint.url });
    const seedMs = performance.now() - seedStarted;

    Object.assign(process.env, {
      DATABASE_URL: databaseUrl,
      BIGQUERY_API_ENDPOINT: endpoint.url,
      FUNCTION_NAME: 'costs',
      COSTS_CACHE_TTL_MS: '0',
    });
    await import('../functions/costs/index.js');
    cleanups.push(() => closeClients());
    const { getTestServer } = await import('@google-cloud/functions-framework/testing');
    const server: Server = getTestServer('costs');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const costs: Record<string, unknown> = {};
    for (const groupBy of ['day', 'provider', 'model'] as const) {
      const url = `${base}/v1/costs?from=${FROM}&to=${END_DATE}&group_by=${groupBy}`;
      const once = async (): Promise<number> => {
        const started = performance.now();
        const res = await fetch(url, { headers: { authorization: `Bearer ${apiKey}` } });
        const body = (await res.json()) as { rows?: unknown[] };
        if (res.status !== 200) throw new Error(`GET /v1/costs answered ${res.status}: ${JSON.stringify(body)}`);
        return performance.now() - started;
      };
      for (let i = 0; i < WARM_UP; i += 1) await once();
      const latencies: number[] = [];
      const started = performance.now();
      for (let i = 0; i < REQUESTS_PER_GROUPING; i += 1) latencies.push(await once());
      const elapsed = performance.now() - started;
      latencies.sort((a, b) => a - b);
      costs[groupBy] = {
        requests: latencies.length,
        p50_ms: round(percentile(latencies, 50)),
        p95_ms: round(percentile(latencies, 95)),
        max_ms: round(latencies.at(-1) ?? 0),
        rps: round((latencies.length / elapsed) * 1000),
      };
    }

    const raw = await benchBigQueryEndpoint();
    return {
      endpoint_startup_ms: round(endpointStartupMs),
      seed: { rows: seeded.rows, ms: round(seedMs) },
      costs_uncached_sequential: costs,
      endpoint_raw_select: raw,
      notes: 'costs: cache disabled (COSTS_CACHE_TTL_MS=0), 200 sequential requests per group_by over 90 days after 10 warm-up requests; endpoint_raw_select: dev/bigquery/bench.ts (SELECT @x + 1, 20 concurrent callers, 5 s)',
    };
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        console.error('bench cleanup failed', error);
      }
    }
  }
}

if (isMain(import.meta.url)) {
  console.log(JSON.stringify(await benchCosts(), null, 2));
}

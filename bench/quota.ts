/**
 * `GET /v1/quota` through one real function process at 50 connections, next to a bare
 * functions-framework hello function measured in the same run, plus the database backends
 * the quota process opened during the run (sampled from pg_stat_activity).
 *
 * Targets (issue 3): quota p95 < 10 ms, p50 ≤ 1.5× bare, backends ≤ 3.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { startBigQueryEndpoint } from '../dev/bigquery/index.js';
import { startFunctionProcess, type FunctionProcess } from '../dev/functionProcess.js';
import { bundleFunction } from '../test/fixtures/runtime/functionsFramework.js';
import { startLocalPostgres } from '../dev/postgres.js';
import { migrate } from '../deploy/migrate.js';
import { generateApiKey } from '../shared/auth/index.js';
import { cpuMs, quantile, rssMiB, table } from './lib/measure.js';

const CONNECTIONS = 50;
/** Alternating rounds per side; the table shows their mean. */
const ROUNDS = 6;

interface Row {
  name: string;
  p50: number;
  p95: number;
  p99: number;
  rps: number;
  rss: number | undefined;
  /** Server CPU (user + system) per request, µs. */
  cpuUs: number;
}

async function load(name: string, proc: FunctionProcess, pathAndQuery: string, headers: Record<string, string>, seconds: number, connections = CONNECTIONS): Promise<Row> {
  const cpuBefore = cpuMs(proc.child.pid) ?? 0;
  const result = await autocannon({ url: `${proc.url}${pathAndQuery}`, connections, duration: seconds, headers });
  const cpuAfter = cpuMs(proc.child.pid) ?? 0;
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx and ${result.errors} errors`);
  return {
    name,
    p50: result.latency.p50,
    p95: (result.latency as unknown as Record<string, number>).p97_5 ?? result.latency.p99,
    p99: result.latency.p99,
    rps: result.requests.average,
    rss: rssMiB(proc.child.pid),
    cpuUs: ((cpuAfter - cpuBefore) * 1000) / Math.max(1, result.requests.total),
  };
}

/**
 * One connection, requests one after another, timed with `performance.now()` (autocannon's
 * histogram has 1 ms resolution, too coarse for sub-millisecond answers). Interleaved so
 * both functions see the same machine.
 */
async function sequential(
  targets: { name: string; url: string; headers: Record<string, string> }[],
  requests: number,
): Promise<{ name: string; p50: number; p95: number; p99: number }[]> {
  const samples = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  for (let i = 0; i < requests; i += 1) {
    for (const t of targets) {
      const started = performance.now();
      const res = await fetch(t.url, { headers: t.headers });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${t.name}: ${res.status}`);
      samples.get(t.name)?.push(performance.now() - started);
    }
  }
  return targets.map((t) => {
    const s = samples.get(t.name) ?? [];
    return { name: t.name, p50: quantile(s, 0.5), p95: quantile(s, 0.95), p99: quantile(s, 0.99) };
  });
}

/** Runs the quota benchmark against `databaseUrl` (migrated). */
export async function benchQuota({ databaseUrl, seconds = 4 }: { databaseUrl: string; seconds?: number }): Promise<Record<string, unknown>> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  const bigquery = await startBigQueryEndpoint({ port: 0 });
  const slug = `bench_${randomBytes(3).toString('hex')}`;
  const key = generateApiKey();
  const org = await admin.query<{ id: string }>(
    `INSERT INTO orgs (org_slug, name, plan, admin_email, status) VALUES ($1, 'Bench', 'pro', 'bench@example.com', 'active') RETURNING id`,
    [slug],
  );
  await admin.query('INSERT INTO api_keys (org_id, key_hash, prefix) VALUES ($1, $2, $3)', [org.rows[0]?.id, key.hash, key.prefix]);

  const functionName = `quota-bench-${randomBytes(2).toString('hex')}`;
  const [quotaSource, bareSource] = await Promise.all([
    bundleFunction('functions/quota/index.ts', 'bench-quota'),
    bundleFunction('test/fixtures/runtime/bare/index.ts', 'bench-bare'),
  ]);
  const quotaAt = (level: 'INFO' | 'WARNING'): Promise<FunctionProcess> =>
    startFunctionProcess({
      source: quotaSource,
      target: 'quota',
      env: { DATABASE_URL: databaseUrl, FUNCTION_NAME: functionName, FUNCTION_TIMEOUT_SECONDS: '60', BIGQUERY_API_ENDPOINT: bigquery.url, LOG_LEVEL: level },
    });
  // At the production log level every request writes its access line (to a pipe this process
  // reads, as Cloud Run's log agent does); at WARNING none is written, as `npm run bench` ran it before.
  const quota = await quotaAt('INFO');
  const quotaQuiet = await quotaAt('WARNING');
  const bare = await startFunctionProcess({ source: bareSource, target: 'bare', env: {} });

  let maxBackends = 0;
  let sampling = false;
  const sampler = setInterval(() => {
    if (sampling) return;
    sampling = true;
    admin
      .query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE $1`, [`${functionName}:%`])
      .then((r) => {
        maxBackends = Math.max(maxBackends, r.rows[0]?.n ?? 0);
      })
      .catch(() => undefined)
      .finally(() => {
        sampling = false;
      });
  }, 50);

  const auth = { authorization: `Bearer ${key.key}` };
  try {
    // Warm-up long enough for both to reach steady state (JIT, heap size: a process keeps
    // getting cheaper per request for several seconds), then alternate the order over
    // several short rounds so neither side always runs on a warmer or quieter machine.
    const sides: { name: string; run: () => Promise<Row> }[] = [
      { name: 'quota', run: () => load('quota', quota, '/v1/quota', auth, seconds) },
      { name: 'quota, no access line', run: () => load('quota, no access line', quotaQuiet, '/v1/quota', auth, seconds) },
      { name: 'bare hello', run: () => load('bare hello', bare, '/', {}, seconds) },
    ];
    await load('warm-up', quota, '/v1/quota', auth, 8);
    await load('warm-up', quotaQuiet, '/v1/quota', auth, 8);
    await load('warm-up', bare, '/', {}, 8);
    const rounds: Row[][] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      const results: Row[] = [];
      for (const side of order) results.push(await side.run());
      rounds.push(results);
    }
    const avg = (name: string, field: keyof Row): number => {
      const values = rounds.flat().filter((r) => r.name === name).map((r) => r[field] as number);
      return values.reduce((a, b) => a + b, 0) / values.length;
    };
    const rows = sides.map(({ name }) => [
      name,
      avg(name, 'p50'),
      avg(name, 'p95'),
      avg(name, 'p99'),
      avg(name, 'rps'),
      avg(name, 'cpuUs'),
      avg(name, 'rss'),
    ]);
    const ratio = avg('quota', 'p50') / avg('bare hello', 'p50');
    const quietRatio = avg('quota, no access line', 'p50') / avg('bare hello', 'p50');
    console.log(`\nGET /v1/quota (log level INFO, and WARNING: no access line) vs a bare functions-framework function — ${CONNECTIONS} connections, ${seconds} s × ${ROUNDS} alternating rounds each (ms; p95 is autocannon's p97.5)`);
    console.log(table(['function', 'p50', 'p95', 'p99', 'req/s', 'server CPU µs/req', 'RSS MiB'], rows));
    // At 50 connections on 2 cores, latency is mostly queueing (connections ÷ throughput),
    // so the p50 ratio is the ratio of CPU per request. One connection shows the
    // per-request latency itself.
    const single = await sequential(
      [
        { name: 'quota', url: `${quota.url}/v1/quota`, headers: auth },
        { name: 'bare hello', url: `${bare.url}/`, headers: {} },
      ],
      2000,
    );
    console.log(`\nthe same over 1 connection, 2,000 sequential requests each, interleaved (ms)`);
    console.log(table(['function', 'p50', 'p95', 'p99'], single.map((r) => [r.name, r.p50, r.p95, r.p99])));
    const singleP95 = single[0]?.p95 ?? Number.NaN;
    const singleRatio = (single[0]?.p50 ?? Number.NaN) / (single[1]?.p50 ?? Number.NaN);
    console.log(
      `quota p50 / bare p50: ${ratio.toFixed(2)} at 50 connections (${quietRatio.toFixed(2)} without the access line), ${singleRatio.toFixed(2)} at 1 connection (target ≤ 1.5); ` +
        `quota p95: ${avg('quota', 'p95').toFixed(1)} ms at 50 connections, ${singleP95.toFixed(2)} ms at 1 connection (target < 10); ` +
        `max backends seen = ${maxBackends} (target ≤ 3)`,
    );
    return {
      quota_p50_ms: avg('quota', 'p50'),
      quota_p95_ms: avg('quota', 'p95'),
      quota_p95_single_ms: singleP95,
      ratio_single: singleRatio,
      bare_p50_ms: avg('bare hello', 'p50'),
      ratio,
      ratio_without_access_line: quietRatio,
      max_backends: maxBackends,
    };
  } finally {
    clearInterval(sampler);
    await Promise.allSettled([quota.stop(), quotaQuiet.stop(), bare.stop()]);
    await admin.end();
    await bigquery.close();
  }
}

/** Starts an embedded PostgreSQL unless DATABASE_URL is set; returns its URL and a stop function. */
export async function benchDatabase(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (process.env.DATABASE_URL !== undefined && process.env.DATABASE_URL !== '') {
    return { url: process.env.DATABASE_URL, stop: async () => undefined };
  }
  const server = await startLocalPostgres({ database: 'cloudact_bench', persistent: false });
  try {
    await migrate(server.url);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { url: server.url, stop: () => server.stop() };
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  process.env.METADATA_SERVER_DETECTION = 'none';
  const db = await benchDatabase();
  try {
    await benchQuota({ databaseUrl: db.url });
  } finally {
    await db.stop();
  }
}

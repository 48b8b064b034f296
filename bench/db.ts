/**
 * `npm run bench:db` — prints numbers, asserts nothing.
 *
 * A database-backed endpoint (`GET /v1/subscriptions`: authenticate, then a keyset page of
 * the org's subscriptions) through a real `subscriptions` process with our pool (3
 * connections, the ceiling), next to a bare functions-framework function doing the old
 * services' pattern — a new `pg.Client` per request, connect, look the key up, list, end —
 * at 50 connections, in alternating rounds. Prints req/s, p50/p99, errors and the peak
 * backends each side held (sampled from `pg_stat_activity`). Target: ×5 the req/s.
 *
 * Knobs: BENCH_DB_SECONDS (per round and side, default 10), BENCH_DB_ROUNDS (default 2).
 */
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { getFunction } from '../deploy/manifest.js';
import { REPO_ROOT } from '../deploy/paths.js';
import { startFunctionProcess, type FunctionProcess } from '../dev/functionProcess.js';
import { bundleFixture, fixtureEntry, type Bundle } from '../test/fixtures/runtime/functionsFramework.js';
import { sampleBackends } from './lib/backendSampler.js';
import { createBenchTenants } from './lib/benchTenant.js';
import { startBenchStack } from './lib/benchStack.js';
import { fmt, mean, table } from './lib/measure.js';

const SECONDS = Number(process.env.BENCH_DB_SECONDS ?? '10');
const ROUNDS = Number(process.env.BENCH_DB_ROUNDS ?? '2');
const CONNECTIONS = 50;
const SUBSCRIPTIONS = 20;

interface Round {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
}

async function load(url: string, key: string, seconds: number): Promise<Round> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds, headers: { authorization: `Bearer ${key}` } });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

async function main(): Promise<void> {
  const load1 = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`CloudAct DB benchmark — Node ${process.version}, ${os.cpus().length} CPUs, load ${load1}, ${new Date().toISOString()}`);
  process.env.METADATA_SERVER_DETECTION = 'none';
  const stack = await startBenchStack();
  const bundles: Bundle[] = [];
  const procs: FunctionProcess[] = [];
  try {
    const [tenant] = await createBenchTenants(stack.admin, `db_${Date.now().toString(36)}`);
    const { orgId, key } = tenant as { orgId: string; key: string };
    await stack.admin.query(
      `INSERT INTO subscriptions (org_id, vendor, plan_name, seats, unit_price_usd, billing_cycle, start_date, status)
       SELECT $1, 'Vendor ' || n, 'Team', n, 10, 'monthly', DATE '2026-01-01', 'active' FROM generate_series(1, $2::int) AS n`,
      [orgId, SUBSCRIPTIONS],
    );
    const spec = getFunction('subscriptions');
    const [ours, peer] = await Promise.all([
      bundleFixture(path.join(REPO_ROOT, spec.source, 'index.ts'), 'subscriptions'),
      bundleFixture(fixtureEntry('connectPerRequest')),
    ]);
    bundles.push(ours, peer);
    const env = stack.envFor('subscriptions', { DB_POOL_MAX: '3', LOG_LEVEL: 'WARNING' });
    const subscriptions = await startFunctionProcess({ source: ours.dir, target: spec.entryPoint, env, stdout: 'ignore' });
    procs.push(subscriptions);
    const perRequest = await startFunctionProcess({
      source: peer.dir,
      target: 'connectPerRequest',
      env: { DATABASE_URL: stack.databaseUrl, NODE_OPTIONS: env.NODE_OPTIONS },
      waitFor: 'listening',
      stdout: 'ignore',
    });
    procs.push(perRequest);
    const sides = [
      { name: 'subscriptions (pool of 3)', group: 'subscriptions', url: `${subscriptions.url}/v1/subscriptions?limit=50`, rounds: [] as Round[] },
      { name: 'connect per request (pg.Client)', group: 'bench-connect-per-request', url: `${perRequest.url}/`, rounds: [] as Round[] },
    ];
    for (const side of sides) await load(side.url, key, 2); // warm-up
    const sampler = sampleBackends(stack.admin, 50);
    try {
      for (let round = 0; round < ROUNDS; round += 1) {
        for (const side of round % 2 === 0 ? sides : [...sides].reverse()) side.rounds.push(await load(side.url, key, SECONDS));
      }
    } finally {
      await sampler.stop();
    }
    const peaks = sampler.peaks();
    const rows = sides.map((s) => [
      s.name,
      mean(s.rounds.map((r) => r.rps)),
      mean(s.rounds.map((r) => r.p50)),
      mean(s.rounds.map((r) => r.p99)),
      String(s.rounds.reduce((a, r) => a + r.requests, 0)),
      String(s.rounds.reduce((a, r) => a + r.non2xx + r.errors, 0)),
      String(peaks.get(s.group) ?? 0),
    ]);
    console.log(`\nGET /v1/subscriptions (${SUBSCRIPTIONS} rows) — ${CONNECTIONS} connections, ${ROUNDS} alternating rounds × ${SECONDS} s each (ms)`);
    console.log(table(['server', 'req/s', 'p50', 'p99', 'requests', 'errors+non2xx', 'peak backends'], rows));
    const [pool, perReq] = sides.map((s) => ({ rps: mean(s.rounds.map((r) => r.rps)), p99: mean(s.rounds.map((r) => r.p99)) }));
    if (pool !== undefined && perReq !== undefined) {
      console.log(`\npool / connect-per-request: req/s ×${fmt(pool.rps / perReq.rps)} (target ≥ ×5), p99 ×${fmt(pool.p99 / perReq.p99)}`);
    }
  } finally {
    await Promise.allSettled(procs.map((p) => p.stop()));
    for (const b of bundles) b.remove();
    await stack.stop();
  }
}

await main();

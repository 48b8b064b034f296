/**
 * Runtime benchmark — prints numbers, asserts nothing.
 *
 * (a) HTTP: what `createHttpHandler` (routing, request id, deadline, zod, envelope, access
 *     log) costs over a bare functions-framework handler. Both run as the platform runs
 *     them (`functions-framework --target=NAME`, bundled with esbuild), each in its own
 *     process; autocannon drives 50 connections, in alternating order, after a warm-up.
 *     Child stdout goes to /dev/null, so a log line costs its write syscall and no more.
 * (b) DB: a tiered `db.query(…, {tier: 'user'})` (budget, server-side statement_timeout,
 *     client backstop) against `pool.query` on a raw `pg.Pool` of the same size: sequential
 *     round trips, interleaved in rounds so drift hits both alike.
 *
 *   npm run bench:runtime       (starts an embedded PostgreSQL when DATABASE_URL is unset)
 *
 * Knobs: BENCH_HTTP_SECONDS (per target, default 10), BENCH_HTTP_ROUNDS (default 2),
 * BENCH_DB_ITERATIONS (per variant, default 5000), BENCH_PARTS (`http,db`).
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import pg from 'pg';
import { startLocalPostgres, type LocalPostgres } from '../dev/postgres.js';
import { createPool } from '../shared/db/index.js';
import { Deadline, runWithDeadline } from '../shared/deadline/index.js';
import { bundleFixture, fixtureEntry, startFunctionsFramework, type RunningFunction } from '../test/fixtures/runtime/functionsFramework.js';
import { cpuMs, fmt, mean, quantile, rssMiB, table } from './lib/measure.js';

const HTTP_SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? '10');
const HTTP_ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? '2');
const HTTP_WARMUP_SECONDS = 2;
const HTTP_CONNECTIONS = 50;
const DB_ITERATIONS = Number(process.env.BENCH_DB_ITERATIONS ?? '5000');
const DB_ROUNDS = 10;
const DB_WARMUP = 500;
const PARTS = new Set((process.env.BENCH_PARTS ?? 'http,db').split(',').map((p) => p.trim()));

interface LoadResult {
  p50: number;
  p99: number;
  rps: number;
  requests: number;
  errors: number;
  non2xx: number;
  /** CPU the server process spent, in ms (user + system). */
  cpuMs: number;
}

async function load(fn: RunningFunction, seconds: number): Promise<LoadResult> {
  const cpuBefore = cpuMs(fn.child.pid) ?? NaN;
  const result = await autocannon({ url: `${fn.url}/`, connections: HTTP_CONNECTIONS, duration: seconds });
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    rps: result.requests.average,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    cpuMs: (cpuMs(fn.child.pid) ?? NaN) - cpuBefore,
  };
}

async function stop(fn: RunningFunction): Promise<void> {
  if (fn.child.exitCode !== null || fn.child.signalCode !== null) return;
  fn.child.kill('SIGTERM');
  const done = await Promise.race([fn.exited.then(() => true), sleep(10_000, false)]);
  if (!done) await fn.kill();
}

async function benchHttp(): Promise<void> {
  const bundles = await Promise.all([bundleFixture(fixtureEntry('bare')), bundleFixture(fixtureEntry('wrapped'))]);
  const [bareBundle, wrappedBundle] = bundles;
  const targets: { name: string; fn: RunningFunction }[] = [];
  try {
    const common = { stdout: 'ignore' as const, env: { LOG_LEVEL: 'INFO', FUNCTION_NAME: 'wrapped' } };
    targets.push({ name: 'bare functions-framework', fn: await startFunctionsFramework({ ...common, target: 'bare', source: bareBundle.dir }) });
    targets.push({ name: 'createHttpHandler', fn: await startFunctionsFramework({ ...common, target: 'wrapped', source: wrappedBundle.dir }) });
    for (const { name, fn } of targets) {
      const res = await fetch(`${fn.url}/`);
      const body = await res.text();
      if (res.status !== 200 || (JSON.parse(body) as { ok?: unknown }).ok !== true) throw new Error(`${name} answered ${res.status} ${body}`);
      await load(fn, HTTP_WARMUP_SECONDS);
    }
    const perRound = HTTP_SECONDS / HTTP_ROUNDS;
    const results = new Map<string, LoadResult[]>(targets.map((t) => [t.name, []]));
    for (let round = 0; round < HTTP_ROUNDS; round += 1) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const { name, fn } of order) results.get(name)?.push(await load(fn, perRound));
    }
    const rows = targets.map(({ name, fn }) => {
      const r = results.get(name) ?? [];
      return {
        name,
        p50: mean(r.map((x) => x.p50)),
        p99: mean(r.map((x) => x.p99)),
        rps: mean(r.map((x) => x.rps)),
        requests: r.reduce((a, x) => a + x.requests, 0),
        bad: r.reduce((a, x) => a + x.errors + x.non2xx, 0),
        cpuUsPerRequest: (r.reduce((a, x) => a + x.cpuMs, 0) * 1000) / r.reduce((a, x) => a + x.requests, 0),
        rss: rssMiB(fn.child.pid),
      };
    });
    console.log(
      `\n(a) HTTP — ${HTTP_CONNECTIONS} connections, ${HTTP_ROUNDS} rounds × ${perRound} s per target in alternating order, after ${HTTP_WARMUP_SECONDS} s warm-up each.`,
    );
    console.log('    Child stdout → /dev/null: the wrapper writes one access-log line per request; it costs only the write syscall here.');
    console.log('    p50/p99 are the mean of the per-round autocannon percentiles (1 ms histogram resolution).\n');
    console.log(
      table(
        ['target', 'p50 ms', 'p99 ms', 'req/s', 'requests', 'errors+non2xx', 'server CPU µs/req', 'RSS MiB'],
        rows.map((r) => [r.name, r.p50, r.p99, r.rps, String(r.requests), String(r.bad), r.cpuUsPerRequest, r.rss ?? NaN]),
      ),
    );
    const [bare, wrapped] = rows;
    if (bare !== undefined && wrapped !== undefined) {
      console.log(
        `\n    wrapper / bare: p50 ×${fmt(wrapped.p50 / bare.p50)} (target ≤ 1.2), p99 ×${fmt(wrapped.p99 / bare.p99)}, ` +
          `req/s ×${fmt(wrapped.rps / bare.rps)}, server CPU per request ×${fmt(wrapped.cpuUsPerRequest / bare.cpuUsPerRequest)}`,
      );
    }
  } finally {
    await Promise.all(targets.map((t) => stop(t.fn)));
    for (const b of bundles) b.remove();
  }
}

async function timed(samples: number[], fn: () => Promise<unknown>): Promise<void> {
  const started = performance.now();
  await fn();
  samples.push(performance.now() - started);
}

/** Runs `count` timed calls and returns the CPU this process spent on them, in µs. */
async function timedBatch(samples: number[], fn: () => Promise<unknown>, count: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < count; i += 1) await timed(samples, fn);
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

async function benchDb(databaseUrl: string): Promise<void> {
  const db = await createPool({ connectionString: databaseUrl, applicationName: 'bench-runtime:tiered', max: 3 });
  const raw = new pg.Pool({ connectionString: databaseUrl, max: 3, application_name: 'bench-runtime:raw' });
  raw.on('error', () => undefined);
  // Inside an invocation whose time left (25 s) is below the user tier (30 s): the budget
  // shrinks with every query, so the statement_timeout is re-set whenever it drifts > 50 ms.
  // A new one each round: on a loaded machine the whole run can outlast 25 s.
  let deadline = new Deadline({ timeoutMs: 26_000, safetyMarginMs: 1_000 });
  const variants: { name: string; run: () => Promise<unknown>; samples: number[]; cpuUs: number }[] = [
    { name: 'pg.Pool query (raw)', run: () => raw.query('SELECT $1::int', [1]), samples: [], cpuUs: 0 },
    { name: "db.query tier 'user'", run: () => db.query('SELECT $1::int', [1], { tier: 'user' }), samples: [], cpuUs: 0 },
    {
      name: "db.query tier 'user', in a 25 s deadline",
      run: () => runWithDeadline(deadline, () => db.query('SELECT $1::int', [1], { tier: 'user' })),
      samples: [],
      cpuUs: 0,
    },
  ];
  try {
    for (const v of variants) for (let i = 0; i < DB_WARMUP; i += 1) await v.run();
    const perRound = Math.ceil(DB_ITERATIONS / DB_ROUNDS);
    for (let round = 0; round < DB_ROUNDS; round += 1) {
      // Rotate the order each round so no variant always runs first.
      const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
      deadline.dispose();
      deadline = new Deadline({ timeoutMs: 26_000, safetyMarginMs: 1_000 });
      for (const v of order) v.cpuUs += await timedBatch(v.samples, v.run, perRound);
    }
  } finally {
    deadline.dispose();
    await Promise.all([db.close(), raw.end()]);
  }
  console.log(
    `\n(b) DB — 'SELECT $1::int' round trips, sequential, ${DB_ROUNDS} interleaved rounds, ${variants[0]!.samples.length} per variant after ${DB_WARMUP} warm-up; pools of 3.\n`,
  );
  console.log(
    table(
      ['variant', 'p50 ms', 'p95 ms', 'p99 ms', 'mean ms', 'client CPU µs/query'],
      variants.map((v) => [
        v.name,
        quantile(v.samples, 0.5),
        quantile(v.samples, 0.95),
        quantile(v.samples, 0.99),
        mean(v.samples),
        v.cpuUs / v.samples.length,
      ]),
    ),
  );
  const [plain, tiered, inDeadline] = variants.map((v) => ({
    p50: quantile(v.samples, 0.5),
    p95: quantile(v.samples, 0.95),
    cpu: v.cpuUs / v.samples.length,
  }));
  if (plain !== undefined && tiered !== undefined && inDeadline !== undefined) {
    const ratios = (x: typeof plain): string =>
      `p50 ×${fmt(x.p50 / plain.p50)}, p95 ×${fmt(x.p95 / plain.p95)}, client CPU per query ×${fmt(x.cpu / plain.cpu)}`;
    console.log(`\n    tiered / raw: ${ratios(tiered)} (target: p50 ≤ 1.15)`);
    console.log(`    tiered in deadline / raw: ${ratios(inDeadline)}`);
  }
}

async function main(): Promise<void> {
  console.log(`CloudAct runtime benchmark — Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${new Date().toISOString()}`);
  let server: LocalPostgres | undefined;
  let databaseUrl = process.env.DATABASE_URL;
  try {
    if (PARTS.has('db') && (databaseUrl === undefined || databaseUrl === '')) {
      server = await startLocalPostgres({ database: 'cloudact_bench', persistent: false });
      databaseUrl = server.url;
      console.log('Started an embedded PostgreSQL (DATABASE_URL was unset).');
    }
    if (PARTS.has('http')) await benchHttp();
    if (PARTS.has('db') && databaseUrl !== undefined) await benchDb(databaseUrl);
  } finally {
    await server?.stop();
  }
}

await main();

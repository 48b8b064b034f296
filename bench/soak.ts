/**
 * `npm run bench:soak` — prints numbers, asserts nothing.
 *
 * 100,000 requests spread over 10,000 tenants against one instance of each cached function
 * — `orgs` (`GET /v1/orgs/me`: the org-profile cache), `pricing` (list pages, four page
 * shapes per tenant: the page cache) and `quota` — every one authenticated with the
 * tenant's own API key (the key caches). First a warm-up that sends every tenant once to
 * each function (the caches fill), then a quarter of the run's traffic at random (entries
 * expire and reload; the heap reaches its working size); then the run, tenants drawn at
 * random, in four parts. Prints each process's RSS after each stage and part (target: grows
 * ≤ 10 % from the warm-up to the end — the caches are bounded), the heap it reports at
 * shutdown, its database
 * backends at the end against its pool, the cache counters it logs at shutdown (size,
 * evictions, hit rate), and the connections left in `pg_stat_activity` once all stopped
 * (target 0).
 *
 * Knobs: BENCH_SOAK_REQUESTS (default 100000), BENCH_SOAK_TENANTS (default 10000),
 * BENCH_SOAK_CONNECTIONS (per function, default 20).
 */
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { getFunction } from '../deploy/manifest.js';
import { REPO_ROOT } from '../deploy/paths.js';
import { startFunctionProcess, type FunctionProcess } from '../dev/functionProcess.js';
import type { CacheStats } from '../shared/cache/index.js';
import { bundleFixture, type Bundle } from '../test/fixtures/runtime/functionsFramework.js';
import { createBenchTenants, type BenchTenant } from './lib/benchTenant.js';
import { backendsByFunction, startBenchStack } from './lib/benchStack.js';
import { fmt, rssMiB, table } from './lib/measure.js';

const REQUESTS = Number(process.env.BENCH_SOAK_REQUESTS ?? '100000');
const TENANTS = Number(process.env.BENCH_SOAK_TENANTS ?? '10000');
const CONNECTIONS = Number(process.env.BENCH_SOAK_CONNECTIONS ?? '20');

const PRICING_PAGES = ['/v1/pricing', '/v1/pricing?limit=20', '/v1/pricing?provider=openai', '/v1/pricing?source=catalogue&limit=50'];

/** The function, and the path a tenant's request takes (`n` varies it). */
const TARGETS: { name: string; path: (n: number) => string }[] = [
  { name: 'orgs', path: () => '/v1/orgs/me' },
  { name: 'pricing', path: (n) => PRICING_PAGES[n % PRICING_PAGES.length] as string },
  { name: 'quota', path: () => '/v1/quota' },
];

/** The run is sent in this many equal parts, with each process's RSS read after each: the curve, not two points. */
const CHECKPOINTS = 4;

interface Running {
  name: string;
  proc: FunctionProcess;
  pool: string;
  /** RSS once every tenant was sent once (the caches are full). */
  rssFilled?: number;
  /** RSS after the whole warm-up. */
  rssWarm?: number;
  /** RSS after each part of the run (the last is the end). */
  rssAt: number[];
  rssEnd?: number;
  backendsEnd?: number;
  requests: number;
  bad: number;
  /** The non-2xx answers by status, and autocannon's errors and timeouts. */
  failures: Map<string, number>;
}

/** `amount` requests to `fn`, each for the tenant `pick(i)` returns. */
async function send(run: Running, tenants: BenchTenant[], amount: number, pick: (i: number) => number): Promise<void> {
  const target = TARGETS.find((t) => t.name === run.name) as (typeof TARGETS)[number];
  let i = 0;
  const result = await autocannon({
    url: run.proc.url,
    connections: CONNECTIONS,
    amount,
    timeout: 30,
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => {
          const n = pick(i);
          // The page shape follows the request, not the tenant: each tenant asks for all four.
          request.path = target.path(i);
          i += 1;
          request.headers = { authorization: `Bearer ${(tenants[n % tenants.length] as BenchTenant).key}` };
          return request;
        },
      },
    ],
  });
  run.requests += result.requests.total;
  run.bad += result.non2xx + result.errors + result.timeouts;
  const stats = (result as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {};
  for (const [status, { count }] of Object.entries(stats)) {
    if (!status.startsWith('2')) run.failures.set(status, (run.failures.get(status) ?? 0) + count);
  }
  if (result.errors > 0) run.failures.set('errors', (run.failures.get('errors') ?? 0) + result.errors);
  if (result.timeouts > 0) run.failures.set('timeouts', (run.failures.get('timeouts') ?? 0) + result.timeouts);
}

async function main(): Promise<void> {
  const loadavg = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`CloudAct soak benchmark — Node ${process.version}, ${os.cpus().length} CPUs, load ${loadavg}, ${new Date().toISOString()}`);
  process.env.METADATA_SERVER_DETECTION = 'none';
  const stack = await startBenchStack();
  const bundles: Bundle[] = [];
  const running: Running[] = [];
  try {
    const tenants = await createBenchTenants(stack.admin, `soak_${Date.now().toString(36)}`, TENANTS);
    for (const { name } of TARGETS) {
      const spec = getFunction(name);
      const bundle = await bundleFixture(path.join(REPO_ROOT, spec.source, 'index.ts'), name);
      bundles.push(bundle);
      const env = stack.envFor(name);
      const proc = await startFunctionProcess({ source: bundle.dir, target: spec.entryPoint, env });
      running.push({ name, proc, pool: env.DB_POOL_MAX ?? '?', rssAt: [], requests: 0, bad: 0, failures: new Map() });
    }
    // Warm-up: every tenant once per function, in order (the caches fill), then a quarter
    // of the run's traffic at random (entries expire and reload, the heap reaches its
    // working size). RSS is read after each stage: the table shows growth from both.
    const perPart = Math.ceil(REQUESTS / running.length / CHECKPOINTS);
    await Promise.all(running.map((run) => send(run, tenants, tenants.length, (i) => i)));
    for (const run of running) run.rssFilled = rssMiB(run.proc.child.pid);
    await Promise.all(running.map((run) => send(run, tenants, perPart, () => Math.floor(Math.random() * tenants.length))));
    for (const run of running) run.rssWarm = rssMiB(run.proc.child.pid);
    const warmUp = running.reduce((a, r) => a + r.requests, 0);
    const started = performance.now();
    for (let part = 0; part < CHECKPOINTS; part += 1) {
      await Promise.all(running.map((run) => send(run, tenants, perPart, () => Math.floor(Math.random() * tenants.length))));
      for (const run of running) run.rssAt.push(rssMiB(run.proc.child.pid) ?? Number.NaN);
    }
    const seconds = (performance.now() - started) / 1000;
    const backends = await backendsByFunction(stack.admin);
    for (const run of running) {
      run.rssEnd = rssMiB(run.proc.child.pid);
      run.backendsEnd = backends.get(run.name) ?? 0;
    }
    // SIGTERM: each instance logs its cache counters and memory with its last line.
    const caches = new Map<string, Record<string, CacheStats>>();
    const memory = new Map<string, ShutdownMemory | undefined>();
    for (const run of running) {
      await run.proc.stop('SIGTERM');
      const last = shutdownLine(run.proc.lines);
      caches.set(run.name, last?.caches ?? {});
      memory.set(run.name, last?.memory);
    }
    const left = await backendsByFunction(stack.admin);
    const leaked = running.reduce((a, run) => a + (left.get(run.name) ?? 0), 0);

    const total = running.reduce((a, r) => a + r.requests, 0);
    console.log(
      `\n${total - warmUp} requests over ${tenants.length} tenants in ${fmt(seconds)} s, after a warm-up of ${warmUp} (one per tenant and function, then ${perPart} at random per function); ${CONNECTIONS} connections per function. Requests and non-2xx below include the warm-up.`,
    );
    console.log(
      table(
        ['function', 'requests', 'non-2xx+errors', 'RSS caches full MiB', 'RSS after warm-up MiB', 'RSS at end MiB', 'growth from warm-up', 'growth from caches full', 'backends at end', 'pool'],
        running.map((r) => [
          r.name,
          String(r.requests),
          r.bad === 0 ? '0' : `${r.bad} (${[...r.failures].map(([k, v]) => `${k}×${v}`).join(' ')})`,
          r.rssFilled ?? NaN,
          r.rssWarm ?? NaN,
          r.rssEnd ?? NaN,
          `${fmt((100 * ((r.rssEnd ?? NaN) - (r.rssWarm ?? NaN))) / (r.rssWarm ?? NaN))} %`,
          `${fmt((100 * ((r.rssEnd ?? NaN) - (r.rssFilled ?? NaN))) / (r.rssFilled ?? NaN))} %`,
          String(r.backendsEnd),
          r.pool,
        ]),
      ),
    );
    const parts = Array.from({ length: CHECKPOINTS }, (_, i) => `after ${Math.round((100 * (i + 1)) / CHECKPOINTS)} %`);
    console.log(`\nRSS (MiB) after each stage of the warm-up and after each ${CHECKPOINTS}th of the run; the JavaScript heap each instance reported at shutdown`);
    console.log(
      table(
        ['function', 'caches full', 'warm-up', ...parts, 'growth over the last half', 'heap used MiB', 'heap total MiB'],
        running.map((r) => {
          const half = r.rssAt[Math.floor(CHECKPOINTS / 2) - 1] ?? Number.NaN;
          const m = memory.get(r.name);
          return [r.name, r.rssFilled ?? NaN, r.rssWarm ?? NaN, ...r.rssAt, `${fmt((100 * ((r.rssEnd ?? NaN) - half)) / half)} %`, m?.heap_used_mib ?? NaN, m?.heap_total_mib ?? NaN];
        }),
      ),
    );
    console.log('\nCaches at shutdown, whole run (warm-up included)');
    const cacheRows: (string | number)[][] = [];
    for (const [fn, report] of caches) {
      for (const [name, s] of Object.entries(report)) {
        cacheRows.push([fn, name, String(s.size), String(s.hits), String(s.misses), String(s.evictions), String(s.expirations), `${fmt(100 * s.hitRate)} %`]);
      }
    }
    console.log(table(['function', 'cache', 'size', 'hits', 'misses', 'evictions', 'expirations', 'hit rate'], cacheRows));
    console.log(`\nconnections left in pg_stat_activity by these functions after they stopped: ${leaked} (target 0)`);
  } finally {
    await Promise.allSettled(running.map((r) => r.proc.stop()));
    for (const b of bundles) b.remove();
    await stack.stop();
  }
}

interface ShutdownMemory {
  rss_mib: number;
  heap_used_mib: number;
  heap_total_mib: number;
}

/** The instance's `Shutdown complete` line: its cache counters and its memory. */
function shutdownLine(lines: string[]): { caches?: Record<string, CacheStats>; memory?: ShutdownMemory } | undefined {
  for (const line of [...lines].reverse()) {
    if (!line.includes('Shutdown complete')) continue;
    try {
      return JSON.parse(line) as { caches?: Record<string, CacheStats>; memory?: ShutdownMemory };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

await main();

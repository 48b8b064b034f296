/**
 * `npm run bench:soak` — prints numbers, asserts nothing.
 *
 * 100,000 requests spread over 10,000 tenants against one instance of each cached function
 * — `orgs` (`GET /v1/orgs/me`: the org-profile cache), `pricing` (list pages, four page
 * shapes per tenant: the page cache) and `quota` — every one authenticated with the
 * tenant's own API key (the key caches). First a warm-up that sends every tenant once to
 * each function; then the run, tenants drawn at random. Prints each process's RSS after
 * the warm-up and at the end (target: grows ≤ 10 %, the caches are bounded), its database
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

interface Running {
  name: string;
  proc: FunctionProcess;
  pool: string;
  rssWarm?: number;
  rssEnd?: number;
  backendsEnd?: number;
  requests: number;
  bad: number;
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
          i += 1;
          request.path = target.path(n);
          request.headers = { authorization: `Bearer ${(tenants[n % tenants.length] as BenchTenant).key}` };
          return request;
        },
      },
    ],
  });
  run.requests += result.requests.total;
  run.bad += result.non2xx + result.errors + result.timeouts;
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
      running.push({ name, proc, pool: env.DB_POOL_MAX ?? '?', requests: 0, bad: 0 });
    }
    // Warm-up: every tenant once per function, in order.
    await Promise.all(running.map((run) => send(run, tenants, tenants.length, (i) => i)));
    for (const run of running) run.rssWarm = rssMiB(run.proc.child.pid);
    const warmUp = running.reduce((a, r) => a + r.requests, 0);
    const perFunction = Math.ceil(REQUESTS / running.length);
    const started = performance.now();
    await Promise.all(running.map((run) => send(run, tenants, perFunction, () => Math.floor(Math.random() * tenants.length))));
    const seconds = (performance.now() - started) / 1000;
    const backends = await backendsByFunction(stack.admin);
    for (const run of running) {
      run.rssEnd = rssMiB(run.proc.child.pid);
      run.backendsEnd = backends.get(run.name) ?? 0;
    }
    // SIGTERM: each instance logs its cache counters with its last line.
    const caches = new Map<string, Record<string, CacheStats>>();
    for (const run of running) {
      await run.proc.stop('SIGTERM');
      caches.set(run.name, shutdownCaches(run.proc.lines));
    }
    const left = await backendsByFunction(stack.admin);
    const leaked = running.reduce((a, run) => a + (left.get(run.name) ?? 0), 0);

    const total = running.reduce((a, r) => a + r.requests, 0);
    console.log(
      `\n${total - warmUp} requests over ${tenants.length} tenants in ${fmt(seconds)} s, after a warm-up of ${warmUp} (one per tenant and function); ${CONNECTIONS} connections per function. Requests and non-2xx below include the warm-up.`,
    );
    console.log(
      table(
        ['function', 'requests', 'non-2xx+errors', 'RSS after warm-up MiB', 'RSS at end MiB', 'growth', 'backends at end', 'pool'],
        running.map((r) => [
          r.name,
          String(r.requests),
          String(r.bad),
          r.rssWarm ?? NaN,
          r.rssEnd ?? NaN,
          `${fmt((100 * ((r.rssEnd ?? NaN) - (r.rssWarm ?? NaN))) / (r.rssWarm ?? NaN))} %`,
          String(r.backendsEnd),
          r.pool,
        ]),
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

/** The `caches` field of the instance's `Shutdown complete` line. */
function shutdownCaches(lines: string[]): Record<string, CacheStats> {
  for (const line of [...lines].reverse()) {
    if (!line.includes('Shutdown complete')) continue;
    try {
      return (JSON.parse(line) as { caches?: Record<string, CacheStats> }).caches ?? {};
    } catch {
      return {};
    }
  }
  return {};
}

await main();

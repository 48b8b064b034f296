/**
 * `npm run bench:coldstart` — prints numbers, asserts nothing.
 *
 * For every function of the manifest: process start → first `GET /healthz` 200, and (HTTP
 * functions) → first authenticated 200 on a read route, next to a bare functions-framework
 * function started the same way in the same run (for the authenticated case the peer runs
 * one `pg` query on a pool it opens on that first request). Each function and its peer
 * start in alternating order, RUNS times each; medians and ratios are printed.
 *
 * Processes start as the platform starts them (`functions-framework --target=NAME` over the
 * esbuild bundle, the manifest's environment and NODE_OPTIONS) and are SIGKILLed after
 * each measurement (only start-up is timed here; shutdown has its own tests).
 *
 * `costs`, whose first answer needs BigQuery as well, is also timed against a bare function
 * that runs one `pg` query and one BigQuery query on its first request, and that function
 * against the one-query peer: the floor of any function answering from BigQuery. The bench
 * tenant is onboarded in BigQuery (its dataset and tables, and a month of demo usage), so
 * `costs` answers as for an onboarded org.
 *
 * Knobs: BENCH_COLDSTART_RUNS (default 10), BENCH_FUNCTIONS (comma-separated names),
 * BENCH_COLDSTART_VARIANTS=1 adds the start-up experiments, each against the function as
 * built: the packages installed beside the bundle instead of inlined (the build before
 * this one), and Node's compile cache on a Node that has it (run the bench with Node 22,
 * the deploy runtime).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildFunction, EXTERNAL } from '../deploy/build.js';
import { REPO_ROOT } from '../deploy/paths.js';
import type { FunctionSpec } from '../deploy/manifest.js';
import { startFunctionProcess, type FunctionProcess } from '../dev/functionProcess.js';
import { bundleFixture, fixtureEntry, type Bundle } from '../test/fixtures/runtime/functionsFramework.js';
import { seedDemoUsage } from '../dev/seedDemo.js';
import { createBenchTenants } from './lib/benchTenant.js';
import { functionsFromEnv, startBenchStack, type BenchStack } from './lib/benchStack.js';
import { cpuMs, fmt, quantile, table } from './lib/measure.js';

const RUNS = Number(process.env.BENCH_COLDSTART_RUNS ?? '10');
const VARIANTS = process.env.BENCH_COLDSTART_VARIANTS === '1';
const POLL_MS = 5;

/**
 * The first authenticated request of each HTTP function: a read every tenant may make. A
 * function not listed here (a new one) is timed to `/healthz` only until it gets a line.
 */
/** The month `costs` is asked about; the bench tenant gets that month's demo usage. */
const COSTS_MONTH = { from: '2026-10-01', to: '2026-10-31' };

const FIRST_REQUEST: Record<string, string> = {
  orgs: '/v1/orgs/me',
  quota: '/v1/quota',
  pricing: '/v1/pricing',
  subscriptions: '/v1/subscriptions',
  integrations: '/v1/integrations',
  costs: `/v1/costs?from=${COSTS_MONTH.from}&to=${COSTS_MONTH.to}&group_by=provider`,
  pipelines: '/v1/pipelines/runs',
  budgets: '/v1/budgets',
};

interface Start {
  /** Process spawn → first `/healthz` 200, ms. */
  healthz: number;
  /**
   * CPU the process spent until then (user + system, 10 ms ticks). Wall time on a shared
   * 2-core machine is mostly waiting for a core; CPU is what the start costs.
   */
  healthzCpu: number;
  /** Process spawn → first authenticated 200, ms (undefined when not measured). */
  firstOk: number | undefined;
}

interface Subject {
  label: string;
  /**
   * Ready at the first answer of any status: a bare CloudEvent function serves no
   * `/healthz`, but answers (404) once its code is loaded and the server listens.
   */
  anyStatusIsReady?: boolean;
  /** Starts the process; resolves at spawn. */
  spawn(): Promise<FunctionProcess>;
  /** The authenticated request (path and headers), if any. */
  request?: { path: string; headers: Record<string, string> };
}

/** Polls `url` every POLL_MS until it answers 200; returns `performance.now()` then. */
async function until200(proc: FunctionProcess, url: string, anyStatus = false, timeoutMs = 60_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`exited with ${proc.child.exitCode} during start-up:\n${proc.lines.join('\n')}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200 || anyStatus) return performance.now();
      if (res.status !== 503 && res.status !== 404) throw new Error(`${url} answered ${res.status}`);
    } catch (error) {
      if (error instanceof Error && error.message.includes('answered')) throw error;
    }
    if (performance.now() > deadline) throw new Error(`${url} not 200 within ${timeoutMs} ms:\n${proc.lines.join('\n')}`);
    await sleep(POLL_MS);
  }
}

async function measure(subject: Subject): Promise<Start> {
  const started = performance.now();
  const proc = await subject.spawn();
  try {
    const healthy = await until200(proc, `${proc.url}/healthz`, subject.anyStatusIsReady === true);
    const healthzCpu = cpuMs(proc.child.pid) ?? Number.NaN;
    let firstOk: number | undefined;
    if (subject.request !== undefined) {
      const res = await fetch(`${proc.url}${subject.request.path}`, { headers: subject.request.headers });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`${subject.label}: ${subject.request.path} answered ${res.status} ${body}`);
      firstOk = performance.now() - started;
    }
    return { healthz: healthy - started, healthzCpu, firstOk };
  } finally {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
}

/** RUNS starts of each subject, alternating which goes first. */
async function alternate(a: Subject, b: Subject): Promise<[Start[], Start[]]> {
  const ra: Start[] = [];
  const rb: Start[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    if (run % 2 === 0) {
      ra.push(await measure(a));
      rb.push(await measure(b));
    } else {
      rb.push(await measure(b));
      ra.push(await measure(a));
    }
  }
  return [ra, rb];
}

const median = (values: (number | undefined)[]): number => quantile(values.filter((v): v is number => v !== undefined), 0.5);

function subjectOf(stack: BenchStack, fn: FunctionSpec, source: string, key: string, label = fn.name, extraEnv: Record<string, string> = {}): Subject {
  const path = FIRST_REQUEST[fn.name];
  return {
    label,
    spawn: () =>
      startFunctionProcess({
        source,
        target: fn.entryPoint,
        signatureType: fn.trigger.type === 'http' ? 'http' : 'cloudevent',
        env: stack.envFor(fn.name, { ...extraEnv }),
        waitFor: 'spawned',
      }),
    ...(fn.trigger.type === 'http' && path !== undefined ? { request: { path, headers: { authorization: `Bearer ${key}` } } } : {}),
  };
}

function bareSubject(source: string, target: string, env: Record<string, string>, withRequest: boolean, nodeOptions: string, event = false): Subject {
  return {
    label: target,
    anyStatusIsReady: event,
    spawn: () =>
      startFunctionProcess({ source, target, env: { NODE_OPTIONS: nodeOptions, ...env }, signatureType: event ? 'cloudevent' : 'http', waitFor: 'spawned' }),
    ...(withRequest ? { request: { path: '/', headers: {} } } : {}),
  };
}

/**
 * The function as built before its first-use packages were inlined: pg, the Google client
 * libraries and the rest installed beside the bundle (loaded from `node_modules` on first
 * use, as hundreds of files), only zod and lru-cache inlined.
 */
async function bundleWithPackagesInstalled(fn: FunctionSpec): Promise<string> {
  const dir = mkdtempSync(path.join(REPO_ROOT, 'test', '.tmp', `installed-${fn.name}-`));
  const root = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const installed = new Set(Object.keys(root.dependencies).filter((pkg) => pkg !== 'zod' && pkg !== 'lru-cache'));
  await buildFunction({ name: fn.name, entry: path.join(REPO_ROOT, fn.source, 'index.ts'), outdir: dir, installed: new Set([...installed, ...EXTERNAL]) });
  return dir;
}

/**
 * Gives the bench tenant what onboarding gives every org in BigQuery — its dataset and
 * tables — and the demo usage of the month `costs` is asked about, so `costs`' first
 * answer is an onboarded org's: one query that finds rows. (An org whose dataset does not
 * exist yet costs two failing jobs instead; see `loadCosts`.)
 */
async function onboardAnalytics(stack: BenchStack, orgSlug: string): Promise<void> {
  const seeded = await seedDemoUsage({ orgSlug, bigqueryUrl: stack.bigquery.url, endDate: COSTS_MONTH.to, days: 31 });
  if (seeded.inserted === 0 || seeded.inserted !== seeded.rows) throw new Error(`seeding ${orgSlug}'s usage stored ${seeded.inserted} of ${seeded.rows} rows`);
}

async function main(): Promise<void> {
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`CloudAct cold-start benchmark — Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load ${load}, ${new Date().toISOString()}`);
  process.env.METADATA_SERVER_DETECTION = 'none';
  const stack = await startBenchStack();
  const bundles: Bundle[] = [];
  const scratch: string[] = [];
  try {
    const [tenant] = await createBenchTenants(stack.admin, `cold_${Date.now().toString(36)}`);
    const key = (tenant as { key: string }).key;
    await onboardAnalytics(stack, (tenant as { slug: string }).slug);
    const fns = functionsFromEnv();
    const [bare, barePg, bareEvent, bareBq] = await Promise.all([
      bundleFixture(fixtureEntry('bare')),
      bundleFixture(fixtureEntry('barePostgres')),
      bundleFixture(fixtureEntry('bareEvent')),
      bundleFixture(fixtureEntry('bareBigQuery')),
    ]);
    bundles.push(bare, barePg, bareEvent, bareBq);
    const nodeOptions = stack.envFor(fns[0]?.name ?? 'quota').NODE_OPTIONS ?? '';
    const bareHealth = bareSubject(bare.dir, 'bare', {}, false, nodeOptions);
    const barePgFirst = bareSubject(barePg.dir, 'barePostgres', { DATABASE_URL: stack.databaseUrl }, true, nodeOptions);
    // An event function's peer is a bare CloudEvent function: that signature makes the framework load more (the CloudEvents SDK).
    const bareEventHealth = bareSubject(bareEvent.dir, 'bareEvent', {}, false, nodeOptions, true);
    const own = await Promise.all(fns.map((fn) => bundleFixture(path.join(REPO_ROOT, fn.source, 'index.ts'), fn.name)));
    bundles.push(...own);

    const rows: (string | number)[][] = [];
    for (const [i, fn] of fns.entries()) {
      const subject = subjectOf(stack, fn, (own[i] as Bundle).dir, key);
      // One peer per measure: the bare-Postgres peer when the function has an authenticated request.
      const peer = fn.trigger.type !== 'http' ? bareEventHealth : subject.request !== undefined ? barePgFirst : bareHealth;
      const [mine, theirs] = await alternate(subject, peer);
      const h = median(mine.map((s) => s.healthz));
      const hp = median(theirs.map((s) => s.healthz));
      const c = median(mine.map((s) => s.healthzCpu));
      const cp = median(theirs.map((s) => s.healthzCpu));
      const a = median(mine.map((s) => s.firstOk));
      const ap = median(theirs.map((s) => s.firstOk));
      const noRequest = subject.request === undefined;
      rows.push([fn.name, h, hp, `×${fmt(h / hp)}`, c, cp, `×${fmt(c / cp)}`, noRequest ? '—' : a, noRequest ? '—' : ap, noRequest ? '—' : `×${fmt(a / ap)}`]);
      console.log(`  ${fn.name}: healthz ${fmt(h)} ms (peer ${fmt(hp)}), first 200 ${fmt(a)} ms (peer ${fmt(ap)})`);
    }
    console.log(`\nCold start — median of ${RUNS} alternating starts each (ms; target ≤ ×1.3 of the peer)`);
    console.log(
      table(['function', '→ /healthz', 'bare', 'ratio', 'CPU → /healthz', 'bare', 'ratio', '→ first auth 200', 'bare + pg query', 'ratio'], rows),
    );

    // costs' first answer needs BigQuery too: beside the peer above, one that does that work as well.
    const costsIndex = fns.findIndex((fn) => fn.name === 'costs');
    const costsFn = fns[costsIndex];
    if (costsFn !== undefined) {
      const env = { DATABASE_URL: stack.databaseUrl, BIGQUERY_API_ENDPOINT: stack.envFor('costs').BIGQUERY_API_ENDPOINT ?? '' };
      const peer = bareSubject(bareBq.dir, 'bareBigQuery', env, true, nodeOptions);
      const [mine, theirs] = await alternate(subjectOf(stack, costsFn, (own[costsIndex] as Bundle).dir, key), peer);
      const a = median(mine.map((s) => s.firstOk));
      const ap = median(theirs.map((s) => s.firstOk));
      console.log(`\ncosts → first auth 200 ${fmt(a)} ms; bare + pg query + BigQuery query ${fmt(ap)} ms: ×${fmt(a / ap)} (median of ${RUNS} alternating starts)`);
      // The floor: the least a function can do with BigQuery on its first answer, against the one-query peer.
      const [withBq, pgOnly] = await alternate(peer, barePgFirst);
      const b = median(withBq.map((s) => s.firstOk));
      const bp = median(pgOnly.map((s) => s.firstOk));
      console.log(`bare + pg query + BigQuery query ${fmt(b)} ms; bare + pg query ${fmt(bp)} ms: ×${fmt(b / bp)} (the floor of any function that answers from BigQuery, same measure)`);
    }

    if (VARIANTS) {
      const variantRows: (string | number)[][] = [];
      const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'cloudact-compile-cache-'));
      scratch.push(cacheDir);
      const hasCompileCache = Number(process.versions.node.split('.')[0]) >= 22;
      for (const [i, fn] of fns.entries()) {
        const installed = await bundleWithPackagesInstalled(fn);
        scratch.push(installed);
        const candidates: Subject[] = [subjectOf(stack, fn, installed, key, `${fn.name} (packages installed)`)];
        if (hasCompileCache) {
          const cached = subjectOf(stack, fn, (own[i] as Bundle).dir, key, `${fn.name} (compile cache)`, { NODE_COMPILE_CACHE: path.join(cacheDir, fn.name) });
          await measure(cached); // fills the cache
          candidates.push(cached);
        }
        const baseline = subjectOf(stack, fn, (own[i] as Bundle).dir, key);
        for (const candidate of candidates) {
          const [mine, theirs] = await alternate(candidate, baseline);
          const h = median(mine.map((s) => s.healthz));
          const hb = median(theirs.map((s) => s.healthz));
          const c = median(mine.map((s) => s.healthzCpu));
          const cb = median(theirs.map((s) => s.healthzCpu));
          const a = median(mine.map((s) => s.firstOk));
          const ab = median(theirs.map((s) => s.firstOk));
          const noRequest = candidate.request === undefined;
          variantRows.push([candidate.label, h, hb, `×${fmt(h / hb)}`, c, cb, `×${fmt(c / cb)}`, noRequest ? '—' : a, noRequest ? '—' : ab]);
          console.log(`  ${candidate.label}: healthz ${fmt(h)} ms vs ${fmt(hb)} ms as built`);
        }
      }
      console.log(`\nStart-up experiments — median of ${RUNS} alternating starts, each against the function as built (ms)`);
      console.log(table(['variant', '→ /healthz', 'as built', 'ratio', 'CPU → /healthz', 'as built', 'ratio', '→ first auth 200', 'as built'], variantRows));
    }
  } finally {
    for (const b of bundles) b.remove();
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
    await stack.stop();
  }
}

await main();

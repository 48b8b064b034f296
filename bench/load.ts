/**
 * `npm run bench:load` — prints numbers, asserts nothing.
 *
 * The whole local stack (`startStack`: PostgreSQL at db-f1-micro's 25 connections, the
 * BigQuery endpoint with 90 days of demo usage, every function of the manifest as its own
 * process, the gateway) in a child process, and from this process 1,000 concurrent
 * connections through the gateway for 60 s on a realistic mix — quota, pricing list,
 * subscriptions list, costs, API-key reads, and subscription writes (~10 % of the
 * connections) — with a random tenant per request.
 *
 * Load generator: autocannon (already a devDependency), one instance per endpoint in this
 * process. It writes pre-built request buffers over raw sockets and parses responses with
 * llhttp, so a request costs it a few µs of CPU against the milliseconds a function spends;
 * the stack runs in another process, so none of its CPU is counted here, and the table
 * prints the generator's own CPU per request and share of a core to show it is not the
 * bottleneck.
 *
 * Prints per endpoint p50/p95/p99 and req/s, answers by status (503 with and without
 * Retry-After apart), the peak database backends per function against its pool size
 * (sampled from pg_stat_activity) and each function's RSS before and after.
 *
 * Knobs: BENCH_LOAD_SECONDS (default 60), BENCH_LOAD_CONNECTIONS (default 1000),
 * BENCH_LOAD_TENANTS (default 100), BENCH_LOAD_SEED=0 skips the demo usage.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { functionEnv } from '../deploy/manifest.js';
import { freePort } from '../dev/freePort.js';
import { startStack, type StackInfo } from '../dev/stack.js';
import { sampleBackends } from './lib/backendSampler.js';
import { createBenchTenants } from './lib/benchTenant.js';
import { fmt, rssMiB, table } from './lib/measure.js';

const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? '60');
const CONNECTIONS = Number(process.env.BENCH_LOAD_CONNECTIONS ?? '1000');
const TENANTS = Number(process.env.BENCH_LOAD_TENANTS ?? '100');
const READY = 'BENCH_STACK_READY ';

/** The mix: share of the connections, path and method per endpoint. */
const MIX: { name: string; share: number; method: 'GET' | 'POST'; path: string; body?: string; demoOnly?: boolean }[] = [
  { name: 'GET /v1/quota', share: 0.25, method: 'GET', path: '/v1/quota' },
  { name: 'GET /v1/pricing', share: 0.2, method: 'GET', path: '/v1/pricing' },
  { name: 'GET /v1/subscriptions', share: 0.15, method: 'GET', path: '/v1/subscriptions' },
  { name: 'GET /v1/costs', share: 0.1, method: 'GET', path: '/v1/costs?from=2026-09-01&to=2026-11-30&group_by=provider', demoOnly: true },
  { name: 'GET /v1/orgs/me/api-keys', share: 0.2, method: 'GET', path: '/v1/orgs/me/api-keys' },
  {
    name: 'POST /v1/subscriptions',
    share: 0.1,
    method: 'POST',
    path: '/v1/subscriptions',
    body: JSON.stringify({ vendor: 'Load', plan_name: 'Team', seats: 3, unit_price_usd: 12.5, billing_cycle: 'monthly', start_date: '2026-01-01' }),
  },
];

/** The child: runs the stack until SIGTERM, printing its info and pids once ready. */
async function hostStack(): Promise<void> {
  const localDir = mkdtempSync(path.join(os.tmpdir(), 'cloudact-bench-load-'));
  const stack = await startStack({
    localDir,
    port: await freePort(),
    seedDemo: process.env.BENCH_LOAD_SEED !== '0',
    // Function log lines (an access line per request) would flood the terminal.
    output: (line) => {
      if (line.startsWith('[stack]') || line.startsWith('[pubsub]')) console.error(line);
    },
  });
  console.log(`${READY}${JSON.stringify({ info: stack.info, pids: stack.pids })}`);
  process.on('SIGTERM', () => {
    stack
      .stop()
      .catch((error: unknown) => console.error(error))
      .finally(() => {
        rmSync(localDir, { recursive: true, force: true });
        process.exit(0);
      });
  });
}

interface Outcome {
  name: string;
  result: autocannon.Result;
  retryAfterMissing: number;
}

async function drive(): Promise<void> {
  const loadavg = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`CloudAct load benchmark — Node ${process.version}, ${os.cpus().length} CPUs, load ${loadavg}, ${new Date().toISOString()}`);
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, BENCH_LOAD_ROLE: 'stack', METADATA_SERVER_DETECTION: 'none' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<{ info: StackInfo; pids: Record<string, number | undefined> }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line.startsWith(READY)) resolve(JSON.parse(line.slice(READY.length)) as { info: StackInfo; pids: Record<string, number | undefined> });
    });
    child.once('exit', (code) => reject(new Error(`the stack exited with ${code} before it was ready`)));
  });
  const { info, pids } = ready;
  const admin = new pg.Client({ connectionString: info.database_url, application_name: 'bench-admin' });
  await admin.connect();
  try {
    const tenants = await createBenchTenants(admin, `load_${Date.now().toString(36)}`, TENANTS);
    const keys = [info.demo.api_key, ...tenants.map((t) => t.key)];
    const rssBefore = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, rssMiB(pid)]));
    const sampler = sampleBackends(admin, 100);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const outcomes = await Promise.all(
      MIX.map(async (entry): Promise<Outcome> => {
        let retryAfterMissing = 0;
        const result = await autocannon({
          url: info.gateway_url,
          connections: Math.max(1, Math.round(CONNECTIONS * entry.share)),
          duration: SECONDS,
          timeout: 30,
          requests: [
            {
              method: entry.method,
              path: entry.path,
              ...(entry.body === undefined ? {} : { body: entry.body }),
              setupRequest: (request) => {
                const key = entry.demoOnly === true ? info.demo.api_key : keys[Math.floor(Math.random() * keys.length)];
                request.headers = { authorization: `Bearer ${key}`, ...(entry.body === undefined ? {} : { 'content-type': 'application/json' }) };
                return request;
              },
              onResponse: (status, _body, _context, headers) => {
                if (status === 503 && (headers as Record<string, string | undefined>)['retry-after'] === undefined) retryAfterMissing += 1;
              },
            },
          ],
        });
        return { name: entry.name, result, retryAfterMissing };
      }),
    );
    const wallS = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    await sampler.stop();
    const rssAfter = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, rssMiB(pid)]));
    const peaks = sampler.peaks();
    const total = outcomes.reduce((a, o) => a + o.result.requests.total, 0);

    console.log(`\nThrough the gateway — ${CONNECTIONS} connections for ${SECONDS} s, ${keys.length} tenants (ms)`);
    console.log(
      table(
        ['endpoint', 'connections', 'share of requests', 'req/s', 'p50', 'p97.5', 'p99', 'answers by status'],
        outcomes.map((o) => [
          o.name,
          String(o.result.connections),
          `${fmt((100 * o.result.requests.total) / Math.max(1, total))} %`,
          o.result.requests.average,
          o.result.latency.p50,
          o.result.latency.p97_5,
          o.result.latency.p99,
          byStatus(o),
        ]),
      ),
    );
    const bad = outcomes.reduce((a, o) => a + o.result.errors + o.result.timeouts + o.retryAfterMissing + unexpected(o), 0);
    console.log(`\nall endpoints: ${fmt(total / wallS)} req/s; answers other than 2xx or 503-with-Retry-After, socket errors and timeouts: ${bad}`);
    console.log(
      `load generator (this process): ${fmt((cpu.user + cpu.system) / 1000 / (wallS * 10))} % of one core, ${fmt((cpu.user + cpu.system) / Math.max(1, total))} µs CPU per request`,
    );
    console.log('\nPer function: peak database backends (sampled every 100 ms) against its pool, RSS before and after (MiB)');
    console.log(
      table(
        ['function', 'peak backends', 'pool (DB_POOL_MAX)', 'RSS before', 'RSS after'],
        Object.keys(pids).map((name) => [name, String(peaks.get(name) ?? 0), functionEnv(name).DB_POOL_MAX ?? '?', rssBefore[name] ?? NaN, rssAfter[name] ?? NaN]),
      ),
    );
  } finally {
    await admin.end();
    child.kill('SIGTERM');
    await exited;
  }
}

/** `200×n 503×m (k without Retry-After)`. */
function byStatus(o: Outcome): string {
  const stats = (o.result as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {};
  const parts = Object.entries(stats).map(([code, { count }]) => `${code}×${count}`);
  if (o.retryAfterMissing > 0) parts.push(`(${o.retryAfterMissing} 503 without Retry-After)`);
  if (o.result.errors + o.result.timeouts > 0) parts.push(`errors×${o.result.errors} timeouts×${o.result.timeouts}`);
  return parts.join(' ');
}

/** Answers that are neither 2xx nor 503. */
function unexpected(o: Outcome): number {
  const stats = (o.result as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {};
  return Object.entries(stats)
    .filter(([code]) => !code.startsWith('2') && code !== '503')
    .reduce((a, [, { count }]) => a + count, 0);
}

if (process.env.BENCH_LOAD_ROLE === 'stack') await hostStack();
else await drive();

import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionEnv, manifest } from '../../deploy/manifest.js';
import { startFunctionProcess, type FunctionProcess } from '../../dev/functionProcess.js';
import { ROUTE_PREFIXES } from '../../dev/stack.js';
import { bundleFunction } from '../fixtures/runtime/functionsFramework.js';
import { contractAt, expectDocumented } from '../helpers/apiContract.js';
import { sendHostile, sendPieces, type HostileAnswer } from '../helpers/hostileRequest.js';

/*
 * Every HTTP function of the manifest, started as the platform starts it, attacked with no
 * credentials: bodies that inflate, or stream, far past any limit. Each must answer a 4xx
 * envelope at once, before authentication, and cost the process next to nothing: its peak
 * resident memory (VmHWM) may grow by less than 64 MB over all the attacks together.
 */

const MiB = 1024 * 1024;
/** 100 MB of JSON-looking zeros, compressed: ~100 KB on the wire. */
const inflated = Buffer.alloc(100 * MiB, 0x20);
inflated.write('{"a":"', 0);
const GZIP_BOMB = gzipSync(inflated, { level: 9 });
const DEFLATE_BOMB = deflateSync(inflated, { level: 9 });

const httpFunctions = manifest.functions.filter((f) => f.trigger.type === 'http').map((f) => f.name);
const allFunctions = manifest.functions.map((f) => f.name);
const running = new Map<string, FunctionProcess>();
const kekFile = path.join(process.cwd(), 'test', '.tmp', `kek-hostile-${process.pid}.key`);

type Answer = HostileAnswer;

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) * 1024;
}

beforeAll(async () => {
  mkdirSync(path.dirname(kekFile), { recursive: true });
  writeFileSync(kekFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  const sources = await Promise.all(allFunctions.map((name) => bundleFunction(`functions/${name}/index.ts`, `hostile-${name}`)));
  await Promise.all(
    allFunctions.map(async (name, i) => {
      const spec = manifest.functions.find((f) => f.name === name);
      running.set(
        name,
        await startFunctionProcess({
          source: sources[i] as string,
          target: spec?.entryPoint ?? name,
          signatureType: spec?.trigger.type === 'http' ? 'http' : 'cloudevent',
          env: {
            ...functionEnv(name),
            DATABASE_URL: process.env.DATABASE_URL,
            ADMIN_TOKEN: `adm_${randomBytes(24).toString('base64url')}`,
            // Nothing here may reach BigQuery: an address where nothing listens.
            BIGQUERY_API_ENDPOINT: 'http://127.0.0.1:9',
            GOOGLE_CLOUD_PROJECT: 'local-project',
            KEK_FILE: kekFile,
            LOG_LEVEL: 'ERROR',
          },
          healthTimeoutMs: 90_000,
        }),
      );
    }),
  );
}, 180_000);

afterAll(async () => {
  await Promise.allSettled([...running.values()].map((p) => p.stop('SIGKILL')));
});

/** The functions whose route prefix itself takes a POST (and so reads its body). */
const POST_AT_PREFIX = new Set(['orgs', 'subscriptions', 'budgets']);

describe.each(httpFunctions)('the %s function, under hostile bodies', (name) => {
  const json = { 'content-type': 'application/json' };
  const cases = [
    { case: 'a gzip bomb (100 MB inflated) to its route', path: 'route', headers: { ...json, 'content-encoding': 'gzip' }, body: { buffer: GZIP_BOMB }, status: 413 },
    { case: 'a deflate bomb (100 MB inflated) to its route', path: 'route', headers: { ...json, 'content-encoding': 'deflate' }, body: { buffer: DEFLATE_BOMB }, status: 413 },
    { case: 'a gzip bomb to an unknown path (refused unread)', path: '/v1/nowhere', headers: { ...json, 'content-encoding': 'gzip' }, body: { buffer: GZIP_BOMB }, status: 404 },
    { case: 'a chunked 64 MB stream with no length', path: 'route', headers: { ...json, 'transfer-encoding': 'chunked' }, body: { streamBytes: 64 * MiB }, status: 413 },
    { case: '20 MB to an unknown path (refused unread)', path: '/v1/nowhere', headers: { ...json, 'content-length': String(20 * MiB) }, body: { streamBytes: 20 * MiB }, status: 404 },
    { case: 'a stacked encoding', path: 'route', headers: { ...json, 'content-encoding': 'gzip, gzip' }, body: { buffer: GZIP_BOMB }, status: 415 },
  ] as const;

  it('answers each attack with its 4xx envelope within 1 s, and its peak memory grows by less than 64 MB', async () => {
    const proc = running.get(name) as FunctionProcess;
    const pid = proc.child.pid as number;
    const prefix = (ROUTE_PREFIXES[name] ?? ['/'])[0] as string;
    // Read before measuring: building the document converts every schema, which is not the attacks' cost.
    const contract = await contractAt(proc.url);
    const before = status(pid, 'VmRSS');

    const answers: (Answer & { case: string; url: string })[] = [];
    for (const c of cases) {
      const url = `${proc.url}${c.path === 'route' ? prefix : c.path}`;
      answers.push({ case: c.case, url, ...(await sendHostile(url, c.headers, c.body).catch((error: Error) => ({ status: 0, ms: 0, headers: {}, body: `{"error":{"code":"${error.message}"}}` }))) });
    }
    const peakGrowth = status(pid, 'VmHWM') - before;
    console.log(`${name}: peak RSS +${(peakGrowth / MiB).toFixed(1)} MB; ${answers.map((a) => `${a.case}: ${a.status} in ${a.ms.toFixed(0)} ms`).join('; ')}`);

    for (const [i, c] of cases.entries()) {
      const answer = answers[i] as Answer & { url: string };
      // A prefix that takes no POST refuses every body unread, whatever it holds.
      const expected = c.path === 'route' && !POST_AT_PREFIX.has(name) ? (name === 'pipelines' ? 404 : 405) : c.status;
      expect({ case: c.case, status: answer.status }).toEqual({ case: c.case, status: expected });
      expect(JSON.parse(answer.body).error.code).toBe({ 404: 'NOT_FOUND', 405: 'METHOD_NOT_ALLOWED', 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE' }[expected]);
      expect(answer.ms, c.case).toBeLessThan(1000);
      expectDocumented({ method: 'POST', url: answer.url, status: answer.status, headers: answer.headers, text: answer.body }, contract);
    }
    expect(peakGrowth).toBeLessThan(64 * MiB);
    // Still serving.
    const health = await fetch(`${proc.url}/healthz`);
    expect(health.status).toBe(200);
  }, 60_000);
});

/**
 * The route of each function that takes a body (the one with the largest limit), or the
 * function's prefix where it takes none (a `405`, refused unread). Event functions take
 * their Pub/Sub push at `POST /`.
 */
const BODY_ROUTE: Record<string, { method: string; path: string }> = {
  orgs: { method: 'POST', path: '/v1/orgs' },
  quota: { method: 'POST', path: '/v1/quota' },
  pricing: { method: 'PUT', path: '/v1/pricing/openai/gpt-4o' },
  subscriptions: { method: 'POST', path: '/v1/subscriptions/bulk' },
  integrations: { method: 'PUT', path: '/v1/integrations/openai' },
  costs: { method: 'POST', path: '/v1/costs' },
  pipelines: { method: 'POST', path: '/v1/pipelines/demo_usage_daily/runs' },
  budgets: { method: 'POST', path: '/v1/budgets' },
  'pipeline-worker': { method: 'POST', path: '/' },
  maintenance: { method: 'POST', path: '/' },
  'budget-alerts': { method: 'POST', path: '/' },
  'budget-alert-delivery': { method: 'POST', path: '/' },
};

/*
 * What a body costs per byte: Node's parser hands over one Buffer per chunk, so a server
 * that keeps the pieces pays hundreds of bytes per byte sent (8 MiB of one-byte chunks
 * took a process from 90 MB to 3.2 GB). Every function of the manifest, HTTP and event,
 * gets the three attacks in a row; the whole series may grow its peak RSS by < 16 MB.
 */
describe.concurrent.each(allFunctions)('the %s function, under bodies sent a byte at a time', (name) => {
  it('answers 8 MiB of one-byte chunks, 1 MiB of them to an unknown path, and a 20 s trickle with 4xx envelopes, its peak RSS growing < 16 MB', async () => {
    const proc = running.get(name) as FunctionProcess;
    const pid = proc.child.pid as number;
    const route = BODY_ROUTE[name] as { method: string; path: string };
    expect(route, `a body route for ${name}`).toBeDefined();
    // HTTP functions' answers are checked against their document; an event function serves
    // none — its push endpoint is Pub/Sub's, not part of the API.
    const contract = httpFunctions.includes(name) ? await contractAt(proc.url) : undefined;
    // Warm: the first request through a route loads and compiles what it needs, whatever its body.
    await sendHostile(`${proc.url}${route.path}`, { 'content-type': 'application/json' }, { buffer: Buffer.from('{}') });
    await sendHostile(`${proc.url}/v1/nowhere/at/all`, { 'content-type': 'application/json' }, { buffer: Buffer.from('{}') });
    const before = status(pid, 'VmRSS');

    const flood = await sendPieces(`${proc.url}${route.path}`, { method: route.method, bytes: 8 * MiB });
    const unknown = await sendPieces(`${proc.url}/v1/nowhere/at/all`, { method: 'POST', bytes: 1 * MiB });
    const trickle = await sendPieces(`${proc.url}${route.path}`, { method: route.method, bytes: 400, intervalMs: 50 });
    const peakGrowth = status(pid, 'VmHWM') - before;
    console.log(
      `${name} per byte: peak RSS +${(peakGrowth / MiB).toFixed(1)} MB; 8 MiB one-byte chunks ${flood.status} in ${flood.ms.toFixed(0)} ms; ` +
        `1 MiB to an unknown path ${unknown.status} in ${unknown.ms.toFixed(0)} ms; trickle ${trickle.status} in ${trickle.ms.toFixed(0)} ms`,
    );

    for (const answer of [flood, unknown, trickle]) {
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      expect(typeof JSON.parse(answer.body).error.code).toBe('string');
    }
    if (contract !== undefined) {
      const sent = [
        [flood, route.method, route.path],
        [unknown, 'POST', '/v1/nowhere/at/all'],
        [trickle, route.method, route.path],
      ] as const;
      for (const [answer, method, at] of sent) expectDocumented({ method, url: `${proc.url}${at}`, status: answer.status, headers: answer.headers, text: answer.body }, contract);
    }
    // Nothing takes a body at an unknown path: 404 (405 where the path is known to take none), unread.
    expect(unknown.status).toBe(404);
    // Answered at once: long before the 1 MiB (6 MB on the wire) could have been read a byte a time.
    expect(unknown.ms).toBeLessThan(5_000);
    // A large-limit route authenticates before it reads: an anonymous bulk import costs nothing.
    if (name === 'subscriptions') expect({ flood: flood.status, trickle: trickle.status }).toEqual({ flood: 401, trickle: 401 });
    expect(peakGrowth).toBeLessThan(16 * MiB);
    expect((await fetch(`${proc.url}/healthz`)).status).toBe(200);
  }, 120_000);
});

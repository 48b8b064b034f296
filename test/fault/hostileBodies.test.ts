import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionEnv, manifest } from '../../deploy/manifest.js';
import { startFunctionProcess, type FunctionProcess } from '../../dev/functionProcess.js';
import { ROUTE_PREFIXES } from '../../dev/stack.js';
import { bundleFunction } from '../fixtures/runtime/functionsFramework.js';
import { sendHostile, type HostileAnswer } from '../helpers/hostileRequest.js';

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
  const sources = await Promise.all(httpFunctions.map((name) => bundleFunction(`functions/${name}/index.ts`, `hostile-${name}`)));
  await Promise.all(
    httpFunctions.map(async (name, i) => {
      const spec = manifest.functions.find((f) => f.name === name);
      running.set(
        name,
        await startFunctionProcess({
          source: sources[i] as string,
          target: spec?.entryPoint ?? name,
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

describe.each(httpFunctions)('the %s function, under hostile bodies', (name) => {
  const json = { 'content-type': 'application/json' };
  const cases = [
    { case: 'a gzip bomb (100 MB inflated) to its route', path: 'route', headers: { ...json, 'content-encoding': 'gzip' }, body: { buffer: GZIP_BOMB }, status: 413 },
    { case: 'a deflate bomb (100 MB inflated) to its route', path: 'route', headers: { ...json, 'content-encoding': 'deflate' }, body: { buffer: DEFLATE_BOMB }, status: 413 },
    { case: 'a gzip bomb to an unknown path', path: '/v1/nowhere', headers: { ...json, 'content-encoding': 'gzip' }, body: { buffer: GZIP_BOMB }, status: 413 },
    { case: 'a chunked 64 MB stream with no length', path: 'route', headers: { ...json, 'transfer-encoding': 'chunked' }, body: { streamBytes: 64 * MiB }, status: 413 },
    { case: '20 MB to an unknown path', path: '/v1/nowhere', headers: { ...json, 'content-length': String(20 * MiB) }, body: { streamBytes: 20 * MiB }, status: 413 },
    { case: 'a stacked encoding', path: 'route', headers: { ...json, 'content-encoding': 'gzip, gzip' }, body: { buffer: GZIP_BOMB }, status: 415 },
  ] as const;

  it('answers each attack with its 4xx envelope within 1 s, and its peak memory grows by less than 64 MB', async () => {
    const proc = running.get(name) as FunctionProcess;
    const pid = proc.child.pid as number;
    const prefix = (ROUTE_PREFIXES[name] ?? ['/'])[0] as string;
    const before = status(pid, 'VmRSS');

    const answers: (Answer & { case: string })[] = [];
    for (const c of cases) {
      const url = `${proc.url}${c.path === 'route' ? prefix : c.path}`;
      answers.push({ case: c.case, ...(await sendHostile(url, c.headers, c.body).catch((error: Error) => ({ status: 0, ms: 0, body: `{"error":{"code":"${error.message}"}}` }))) });
    }
    const peakGrowth = status(pid, 'VmHWM') - before;
    console.log(`${name}: peak RSS +${(peakGrowth / MiB).toFixed(1)} MB; ${answers.map((a) => `${a.case}: ${a.status} in ${a.ms.toFixed(0)} ms`).join('; ')}`);

    for (const [i, c] of cases.entries()) {
      const answer = answers[i] as Answer;
      expect({ case: c.case, status: answer.status }).toEqual({ case: c.case, status: c.status });
      expect(JSON.parse(answer.body).error.code).toBe(c.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'UNSUPPORTED_MEDIA_TYPE');
      expect(answer.ms, c.case).toBeLessThan(1000);
    }
    expect(peakGrowth).toBeLessThan(64 * MiB);
    // Still serving.
    const health = await fetch(`${proc.url}/healthz`);
    expect(health.status).toBe(200);
  }, 60_000);
});

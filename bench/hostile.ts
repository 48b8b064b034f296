/**
 * What refusing a hostile body costs one real function process (subscriptions, started as
 * the platform starts it), next to a normal 1 KiB request measured in the same run: wall
 * time per request (sequential, one connection each), server CPU per request, and the
 * growth of the process's peak RSS (VmHWM) over the whole series.
 *
 * Each request is unauthenticated, as an attacker's would be: the 1 KiB one is answered
 * 401 after parsing; the hostile ones 413/415 before parsing or authentication.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { deflateSync, gzipSync } from 'node:zlib';
import { functionEnv } from '../deploy/manifest.js';
import { startFunctionProcess, type FunctionProcess } from '../dev/functionProcess.js';
import { bundleFunction } from '../test/fixtures/runtime/functionsFramework.js';
import { sendHostile, sendPieces, type HostileAnswer, type PiecesOptions } from '../test/helpers/hostileRequest.js';
import { cpuMs, quantile, table } from './lib/measure.js';

const MiB = 1024 * 1024;
const REQUESTS = Number(process.env.BENCH_HOSTILE_REQUESTS ?? 20);

function peakRss(pid: number): number {
  const kb = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

interface Case {
  name: string;
  path: string;
  headers?: Record<string, string>;
  body?: { buffer?: Buffer; streamBytes?: number };
  /** Sent as one-byte chunks instead (`sendPieces`). */
  pieces?: PiecesOptions;
  /** Requests measured; the slow trickle takes 10 s each. @default REQUESTS */
  requests?: number;
}

/** One request; resolves when the answer has been read (the client keeps sending until then). */
function send(url: string, c: Case): Promise<HostileAnswer> {
  return c.pieces !== undefined ? sendPieces(url, c.pieces) : sendHostile(url, c.headers ?? {}, c.body ?? {});
}

const json = { 'content-type': 'application/json' };
const inflated = Buffer.alloc(100 * MiB, 0x20);
const normal = Buffer.from(JSON.stringify({ vendor: 'x'.repeat(1000) }));
const cases: Case[] = [
  { name: 'normal 1 KiB JSON (401)', path: '/v1/subscriptions', headers: json, body: { buffer: normal } },
  { name: 'gzip bomb, 100 MB inflated (413)', path: '/v1/subscriptions', headers: { ...json, 'content-encoding': 'gzip' }, body: { buffer: gzipSync(inflated, { level: 9 }) } },
  { name: 'deflate bomb, 100 MB inflated (413)', path: '/v1/subscriptions', headers: { ...json, 'content-encoding': 'deflate' }, body: { buffer: deflateSync(inflated, { level: 9 }) } },
  { name: 'chunked 64 MB stream (413)', path: '/v1/subscriptions', headers: { ...json, 'transfer-encoding': 'chunked' }, body: { streamBytes: 64 * MiB } },
  { name: '20 MB to an unknown path (404, unread)', path: '/v1/nowhere', headers: { ...json, 'content-length': String(20 * MiB) }, body: { streamBytes: 20 * MiB } },
  { name: '8 MiB in one-byte chunks (400, too many pieces)', path: '/v1/subscriptions', pieces: { bytes: 8 * MiB } },
  { name: '8 MiB in one-byte chunks to bulk, anonymous (401, unread)', path: '/v1/subscriptions/bulk', pieces: { bytes: 8 * MiB } },
  { name: '1 MiB in one-byte chunks to an unknown path (404, unread)', path: '/v1/nowhere', pieces: { bytes: MiB } },
  { name: 'a trickle, one byte per 50 ms (400 after 10 s)', path: '/v1/subscriptions', pieces: { bytes: 400, intervalMs: 50 }, requests: 2 },
];

const source = await bundleFunction('functions/subscriptions/index.ts', 'bench-hostile');
const proc: FunctionProcess = await startFunctionProcess({
  source,
  target: 'subscriptions',
  env: { ...functionEnv('subscriptions'), DATABASE_URL: process.env.DATABASE_URL, LOG_LEVEL: 'ERROR', ADMIN_TOKEN: randomBytes(24).toString('base64url') },
});
const pid = proc.child.pid as number;
try {
  const rows: (string | number)[][] = [];
  for (const c of cases) {
    const requests = c.requests ?? REQUESTS;
    await send(`${proc.url}${c.path}`, c); // warm-up
    const hwmBefore = peakRss(pid);
    const cpuBefore = cpuMs(pid) ?? 0;
    const times: number[] = [];
    for (let i = 0; i < requests; i += 1) times.push((await send(`${proc.url}${c.path}`, c)).ms);
    const cpuPer = ((cpuMs(pid) ?? 0) - cpuBefore) / requests;
    rows.push([c.name, quantile(times, 0.5), quantile(times, 0.95), cpuPer, (peakRss(pid) - hwmBefore) / MiB]);
  }
  console.log(`Refusing hostile bodies vs a normal request (${REQUESTS} sequential requests each, the trickle 2; subscriptions function)`);
  console.log(table(['request', 'p50 ms', 'p95 ms', 'server CPU ms/req', 'peak RSS growth MiB'], rows));
} finally {
  await proc.stop();
}

import { spawnSync } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHttpHandler, route } from '../../shared/http/index.js';
import { log, parseLogConfig, REDACTED, setLogLevel } from '../../shared/log/index.js';
import { REPO_ROOT } from '../../deploy/paths.js';
import { captureLogs, type CapturedLogs } from '../fixtures/runtime/logs.js';
import { z } from 'zod';

process.env.GOOGLE_CLOUD_PROJECT = 'demo-project';

http(
  'log-test',
  createHttpHandler({
    name: 'log-test',
    routes: [
      route({
        method: 'GET',
        path: '/v1/work',
        summary: 'Logs some work',
        responses: { 200: { description: 'Done', body: z.object({ ok: z.boolean() }) } },
        handler: async () => {
          log.warn('Doing some work');
          return { body: { ok: true } };
        },
      }),
    ],
  }),
);

let logs: CapturedLogs;

beforeEach(() => {
  logs = captureLogs('DEBUG');
});

afterEach(() => {
  logs.restore();
  vi.restoreAllMocks();
});

describe('parseLogConfig', () => {
  it.each([
    { case: 'nothing set', env: {}, level: 'INFO', project: undefined },
    { case: 'a level in any case', env: { LOG_LEVEL: 'warning' }, level: 'WARNING', project: undefined },
    { case: 'an unknown level (falls back, never throws)', env: { LOG_LEVEL: 'LOUD' }, level: 'INFO', project: undefined },
    { case: 'the project', env: { GOOGLE_CLOUD_PROJECT: 'p1', GCLOUD_PROJECT: 'p2' }, level: 'INFO', project: 'p1' },
    { case: 'the older project variable alone', env: { GCLOUD_PROJECT: 'p2' }, level: 'INFO', project: 'p2' },
  ])('reads $case', ({ env, level, project }) => {
    expect(parseLogConfig(env)).toEqual({ level, project });
  });
});

describe('log lines', () => {
  it('go to stdout as exactly one JSON object per line with severity, message and time, one write per turn of the event loop', async () => {
    logs.restore();
    setLogLevel('DEBUG');
    const writes: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });

    log.info('first line\nwith a newline inside', { n: 1 });
    log.error('second', new Error('multi\nline\nerror'));
    const writtenInTheTurn = writes.length;
    await new Promise((resolve) => setImmediate(resolve));
    log.info('third, in the next turn');
    await new Promise((resolve) => setImmediate(resolve));
    vi.restoreAllMocks();
    logs = captureLogs('DEBUG');

    expect(writtenInTheTurn).toBe(0);
    expect(writes).toHaveLength(2);
    const lines = writes.join('').split('\n');
    expect(lines.pop()).toBe('');
    expect(writes[0]?.split('\n')).toHaveLength(3);
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(['INFO', 'ERROR']).toContain(entry.severity);
      expect(typeof entry.message).toBe('string');
      expect(Number.isNaN(Date.parse(String(entry.time)))).toBe(false);
    }
  });

  it('are written before the process exits, even when it exits in the turn that logged them', () => {
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', "const { log } = await import('./shared/log/index.ts'); log.info('last words'); process.exit(3);"],
      { cwd: REPO_ROOT, encoding: 'utf8', env: { PATH: process.env.PATH, LOG_LEVEL: 'INFO' } },
    );
    expect(child.status).toBe(3);
    expect(child.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { message: string }).message)).toEqual(['last words']);
  });

  it.each([
    { method: 'debug', severity: 'DEBUG' },
    { method: 'info', severity: 'INFO' },
    { method: 'notice', severity: 'NOTICE' },
    { method: 'warn', severity: 'WARNING' },
    { method: 'error', severity: 'ERROR' },
    { method: 'critical', severity: 'CRITICAL' },
  ] as const)('writes log.$method at severity $severity', ({ method, severity }) => {
    log[method]('hello');

    expect(logs.entries()).toEqual([expect.objectContaining({ severity, message: 'hello' })]);
  });

  it('keeps an error stack and cause when logging an error', () => {
    log.error('Job failed', new Error('outer', { cause: new Error('inner cause') }), { job: 'load' });

    const [entry] = logs.entries();
    expect(entry).toMatchObject({ job: 'load', err: { name: 'Error', message: 'outer', cause: { message: 'inner cause' } } });
    expect((entry?.err as { stack: string }).stack).toMatch(/^Error: outer\n\s+at /);
  });
});

describe('trace correlation through the HTTP wrapper', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = getTestServer('log-test');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const W3C = '4bf92f3577b34da6a3ce929d0e0e4736';
  const LEGACY = '105445aa7843bc8bf206b12000100000';

  it.each<{ case: string; headers: Record<string, string>; trace: string | undefined; span: string | undefined; sampled: boolean | undefined }>([
    { case: 'a W3C traceparent', headers: { traceparent: `00-${W3C}-00f067aa0ba902b7-01` }, trace: W3C, span: '00f067aa0ba902b7', sampled: true },
    { case: 'an unsampled traceparent', headers: { traceparent: `00-${W3C}-00f067aa0ba902b7-00` }, trace: W3C, span: '00f067aa0ba902b7', sampled: false },
    { case: 'an X-Cloud-Trace-Context', headers: { 'x-cloud-trace-context': `${LEGACY}/1;o=1` }, trace: LEGACY, span: '1', sampled: true },
    { case: 'an X-Cloud-Trace-Context without span', headers: { 'x-cloud-trace-context': LEGACY }, trace: LEGACY, span: undefined, sampled: undefined },
    {
      case: 'both (traceparent wins)',
      headers: { traceparent: `00-${W3C}-00f067aa0ba902b7-01`, 'x-cloud-trace-context': `${LEGACY}/1;o=1` },
      trace: W3C,
      span: '00f067aa0ba902b7',
      sampled: true,
    },
    {
      case: 'a malformed traceparent beside a valid X-Cloud-Trace-Context',
      headers: { traceparent: 'garbage', 'x-cloud-trace-context': `${LEGACY}/7;o=0` },
      trace: LEGACY,
      span: '7',
      sampled: false,
    },
    { case: 'an all-zero trace id', headers: { traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` }, trace: undefined, span: undefined, sampled: undefined },
    { case: 'no trace header', headers: {}, trace: undefined, span: undefined, sampled: undefined },
  ])('sets logging.googleapis.com/trace from $case on every line of the request', async ({ headers, trace, span, sampled }) => {
    const res = await fetch(`${base}/v1/work`, { headers: { ...headers, 'x-request-id': 'trace-case' } });
    await res.arrayBuffer();

    const lines = logs.entries().filter((e) => e.request_id === 'trace-case');
    expect(lines.map((l) => l.message)).toEqual(['Doing some work', 'GET /v1/work 200']);
    for (const line of lines) {
      expect(line['logging.googleapis.com/trace']).toBe(trace === undefined ? undefined : `projects/demo-project/traces/${trace}`);
      expect(line['logging.googleapis.com/spanId']).toBe(span);
      expect(line['logging.googleapis.com/trace_sampled']).toBe(sampled);
    }
  });
});

describe('secret redaction', () => {
  const API_KEY = 'cak_Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1u';
  const BEARER = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl';
  const PASSWORD = 'hunter2-very-secret';
  const DB_PASSWORD = 's3cr3t-db-pw';

  it.each([
    { case: 'an API key in the message', write: () => log.warn(`Rejected key ${API_KEY}`), secret: API_KEY },
    { case: 'an API key in a free-text field', write: () => log.warn('Rejected', { note: `caller sent ${API_KEY} twice` }), secret: API_KEY },
    { case: 'a Bearer token in a header field', write: () => log.warn('Request', { headers: { Authorization: `Bearer ${BEARER}` } }), secret: BEARER },
    { case: 'a Bearer token inside text', write: () => log.warn('Request', { raw: `GET / HTTP/1.1\r\nauthorization: Bearer ${BEARER}` }), secret: BEARER },
    {
      case: 'a password nested deep',
      write: () => log.warn('Config', { a: { b: { c: { d: { e: { password: PASSWORD } } } } } }),
      secret: PASSWORD,
    },
    { case: 'a credential inside an array', write: () => log.warn('Integrations', { items: [{ provider: 'openai', credential: PASSWORD }] }), secret: PASSWORD },
    { case: 'a client secret field', write: () => log.warn('OAuth', { oauth: { client_secret: PASSWORD, apiKey: PASSWORD } }), secret: PASSWORD },
    {
      case: 'a postgres URL password in an error message',
      write: () => log.error('Connect failed', new Error(`could not connect to postgres://app:${DB_PASSWORD}@10.0.0.5:5432/cloudact`)),
      secret: DB_PASSWORD,
    },
    {
      case: 'a postgresql URL password in an object',
      write: () => log.warn('Pool config', { pool: { connectionString: `postgresql://app:${DB_PASSWORD}@db.internal/cloudact` } }),
      secret: DB_PASSWORD,
    },
    {
      case: 'a postgres URL password with an empty user name',
      write: () => log.warn('Pool config', { url: `postgresql://:${DB_PASSWORD}@/cloudact?host=/cloudsql/demo:europe-west1:main` }),
      secret: DB_PASSWORD,
    },
    { case: 'an upper-case BEARER token', write: () => log.warn(`sent BEARER ${BEARER}`), secret: BEARER },
    { case: 'a provider secret key', write: () => log.warn('Validating', { note: `key sk-ant-api03-${PASSWORD}-abcdef` }), secret: PASSWORD },
    {
      case: 'a PEM private key',
      write: () => log.warn('Loaded', { note: `-----BEGIN PRIVATE KEY-----\nMIIEv${PASSWORD}\n-----END PRIVATE KEY-----` }),
      secret: PASSWORD,
    },
    {
      case: 'a secret in an error cause',
      write: () => log.error('Call failed', new Error('outer', { cause: new Error(`provider said: invalid key ${API_KEY}`) })),
      secret: API_KEY,
    },
    { case: 'a secret nested deeper than the depth limit', write: () => log.warn('Deep', { l1: { l2: { l3: { l4: { l5: { l6: { l7: { l8: { l9: { l10: { v: `x ${API_KEY}` } } } } } } } } } } }), secret: API_KEY },
  ])('never writes $case', ({ write, secret }) => {
    write();

    expect(logs.lines).toHaveLength(1);
    expect(logs.lines[0]).not.toContain(secret);
    expect(logs.lines[0]?.includes(REDACTED) === true || logs.lines[0]?.includes('[Truncated]') === true).toBe(true);
  });

  it('keeps the non-secret parts of a connection string readable', () => {
    log.warn('Pool config', { url: `postgres://app:${DB_PASSWORD}@10.0.0.5:5432/cloudact` });

    expect(logs.entries()[0]?.url).toBe(`postgres://app:${REDACTED}@10.0.0.5:5432/cloudact`);
  });
});

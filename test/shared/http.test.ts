import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { UnauthenticatedError } from '../../shared/errors/index.js';
import { createHttpHandler, route, SerializedJson, STREAMED, writeChunk } from '../../shared/http/index.js';
import { sendPieces } from '../helpers/hostileRequest.js';
import { captureLogs, type CapturedLogs } from '../fixtures/runtime/logs.js';

/** Set by `/v1/wait-for-cancel`: resolves with the deadline's abort reason. */
let cancelled: Promise<unknown> | undefined;

const INTERNAL_DETAIL = 'relation "org_secrets" does not exist at db-primary.internal:5432';

const thingSchema = z.object({
  name: z.string().min(1),
  plan: z.enum(['free', 'pro', 'enterprise']),
  seats: z.number().int().min(1),
});

const serializedBody = new SerializedJson({ items: [{ name: 'é' }], next_cursor: null });

// createHttpHandler must run before getTestServer builds the framework's Express app:
// it hooks Express so framework-level errors (bad JSON, huge bodies) get our envelope.
http(
  'http-wrapper-test',
  createHttpHandler({
    name: 'http-wrapper-test',
    routes: [
      route({ method: 'POST', path: '/v1/things', summary: 'Create a thing', body: thingSchema, responses: { 201: { description: 'Created', body: thingSchema } }, handler: async ({ body }) => ({ status: 201, body }) }),
      route({
        method: 'POST',
        path: '/v1/things/bulk',
        summary: 'Bulk things',
        responses: { 200: { description: 'Counted', body: z.object({ count: z.int() }) } },
        maxBodyBytes: 8 * 1024 * 1024,
        body: z.object({ items: z.array(thingSchema) }),
        auth: async (req) => {
          bulkAuthCalls += 1;
          if (req.headers.authorization !== 'Bearer let-me-in') throw new UnauthenticatedError();
          return 'caller';
        },
        handler: async ({ body }) => ({ body: { count: body.items.length } }),
      }),
      route({
        method: 'GET',
        path: '/v1/things',
        summary: 'List things',
        responses: { 200: { description: 'Things', body: z.object({ items: z.array(thingSchema), limit: z.int() }) } },
        query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
        handler: async ({ query }) => ({ body: { items: [], limit: query.limit } }),
      }),
      route({
        method: 'GET',
        path: '/v1/things/:id',
        summary: 'Read a thing',
        responses: { 200: { description: 'Its id', body: z.object({ id: z.string() }) } },
        params: z.object({ id: z.string().regex(/^[a-z0-9-]+$/) }),
        handler: async ({ params }) => ({ body: { id: params.id } }),
      }),
      route({
        method: 'GET',
        path: '/v1/serialized',
        summary: 'A pre-serialized page',
        responses: { 200: { description: 'The page', body: z.object({ items: z.array(z.object({ name: z.string() })), next_cursor: z.null() }) } },
        handler: async () => ({ status: 200, body: serializedBody }),
      }),
      route({
        method: 'GET',
        path: '/v1/signal',
        summary: 'Signal state',
        responses: { 200: { description: 'Whether aborted', body: z.object({ aborted: z.boolean() }) } },
        handler: async ({ deadline }) => {
          await sleep(50);
          return { body: { aborted: deadline.signal.aborted } };
        },
      }),
      route({
        method: 'POST',
        path: '/v1/signal',
        summary: 'Signal state after a body',
        responses: { 200: { description: 'Whether aborted', body: z.object({ aborted: z.boolean() }) } },
        body: z.object({ n: z.number() }),
        handler: async ({ deadline }) => {
          await sleep(50);
          return { body: { aborted: deadline.signal.aborted } };
        },
      }),
      route({
        method: 'GET',
        path: '/v1/wait-for-cancel',
        summary: 'Waits for cancellation',
        responses: { 200: { description: 'Nothing', body: z.object({}) } },
        handler: async ({ deadline }) => {
          cancelled = new Promise((resolve) => deadline.signal.addEventListener('abort', () => resolve(deadline.signal.reason)));
          await Promise.race([cancelled, sleep(3000)]);
          return { body: {} };
        },
      }),
      route({
        method: 'GET',
        path: '/v1/boom',
        summary: 'Always fails',
        responses: { 200: { description: 'Never' } },
        handler: async () => {
          throw new Error(INTERNAL_DETAIL);
        },
      }),
      route({
        method: 'GET',
        path: '/v1/stream',
        summary: 'Streams text',
        responses: { 200: { description: 'Text', media: ['text/plain'] } },
        query: z.object({ fail: z.enum(['before', 'after']).optional() }),
        handler: async ({ query, res, deadline }) => {
          if (query.fail === 'before') throw new Error(INTERNAL_DETAIL);
          res.status(200).setHeader('content-type', 'text/plain; charset=utf-8');
          await writeChunk(res, 'first,', deadline.signal);
          if (query.fail === 'after') throw new Error(INTERNAL_DETAIL);
          await writeChunk(res, 'second', deadline.signal);
          return { body: STREAMED };
        },
      }),
      route({
        method: 'GET',
        path: '/v1/unserialisable',
        summary: 'A body JSON cannot hold',
        // z.custom: the point is a value JSON.stringify refuses (a bigint).
        responses: { 200: { description: 'Never written', body: z.object({ total: z.custom<bigint>() }) } },
        handler: async () => ({ body: { total: 10n } }),
      }),
    ],
  }),
);

let server: Server;
let bulkAuthCalls = 0;
let base: string;
let logs: CapturedLogs;

beforeAll(async () => {
  server = getTestServer('http-wrapper-test');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  logs = captureLogs('DEBUG');
});

afterEach(() => {
  logs.restore();
});

interface Envelope {
  error: { code: string; message: string; details: { path: string; message: string }[]; request_id: string };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * One request over a fresh connection with node:http, so the test controls the exact bytes
 * (declared length, chunked bodies) and sees the answer even when the server closes early.
 */
function send(method: string, path: string, { headers = {}, body }: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    // The server may answer (413) and close before the whole body is written.
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const json = { 'content-type': 'application/json' };

function expectEnvelope(answer: Answer, status: number, code: string): Envelope {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(answer.text) as Envelope;
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'details', 'message', 'request_id']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(Array.isArray(body.error.details)).toBe(true);
  expect(body.error.request_id).toBe(answer.headers['x-request-id']);
  return body;
}

describe('the HTTP wrapper', () => {
  it('sends a pre-serialized body as is, as UTF-8 JSON, with the request id', async () => {
    const answer = await send('GET', '/v1/serialized', { headers: { 'x-request-id': 'req-serialized-1' } });

    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answer.headers['x-request-id']).toBe('req-serialized-1');
    expect(answer.text).toBe(serializedBody.text);
    expect(JSON.parse(answer.text)).toEqual({ items: [{ name: 'é' }], next_cursor: null });
  });

  it('answers malformed JSON with 400 INVALID_ARGUMENT', async () => {
    const answer = await send('POST', '/v1/things', { headers: json, body: '{"name": "a", ' });

    const body = expectEnvelope(answer, 400, 'INVALID_ARGUMENT');
    expect(body.error.message).toMatch(/not valid JSON/);
  });

  it('answers a body that breaks the schema with 400 naming every bad field', async () => {
    const answer = await send('POST', '/v1/things', { headers: json, body: JSON.stringify({ name: 'x', plan: 'platinum', seats: 0 }) });

    const body = expectEnvelope(answer, 400, 'INVALID_ARGUMENT');
    expect(body.error.details.map((d) => d.path).sort()).toEqual(['plan', 'seats']);
  });

  it.each([
    { case: 'a query parameter', path: '/v1/things?limit=501', field: 'limit' },
    { case: 'a path parameter', path: '/v1/things/NOT_VALID', field: 'id' },
  ])('answers a bad $case with 400 naming it', async ({ path, field }) => {
    const answer = await send('GET', path);

    const body = expectEnvelope(answer, 400, 'INVALID_ARGUMENT');
    expect(body.error.details.map((d) => d.path)).toEqual([field]);
  });

  it('accepts a valid body and answers with the handler result', async () => {
    const answer = await send('POST', '/v1/things', { headers: json, body: JSON.stringify({ name: 'x', plan: 'pro', seats: 3 }) });

    expect(answer.status).toBe(201);
    expect(JSON.parse(answer.text)).toEqual({ name: 'x', plan: 'pro', seats: 3 });
  });

  it.each([
    { case: 'a declared Content-Length', chunked: false },
    { case: 'a chunked body with no declared length', chunked: true },
  ])('answers a body over 1 MiB with 413 ($case)', async ({ chunked }) => {
    const big = JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 10), plan: 'pro', seats: 1 });
    const headers = chunked ? { ...json, 'transfer-encoding': 'chunked' } : { ...json, 'content-length': String(Buffer.byteLength(big)) };

    const answer = await send('POST', '/v1/things', { headers, body: big });

    expectEnvelope(answer, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('inflates a gzip or deflate body within the limit and serves it', async () => {
    const body = JSON.stringify({ name: 'x', plan: 'pro', seats: 3 });
    for (const [encoding, data] of [['gzip', gzipSync(body)], ['deflate', deflateSync(body)], ['br', brotliCompressSync(body)]] as const) {
      const answer = await send('POST', '/v1/things', { headers: { ...json, 'content-encoding': encoding }, body: data });

      expect({ encoding, status: answer.status }).toEqual({ encoding, status: 201 });
      expect(JSON.parse(answer.text)).toEqual({ name: 'x', plan: 'pro', seats: 3 });
    }
  });

  it('answers a body that inflates past the limit with 413, counting inflated bytes', async () => {
    // 2 MiB of JSON that compresses to a few KB: small on the wire, over 1 MiB once read.
    const bomb = gzipSync(JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024), plan: 'pro', seats: 1 }));
    expect(bomb.length).toBeLessThan(64 * 1024);

    const answer = await send('POST', '/v1/things', { headers: { ...json, 'content-encoding': 'gzip', 'content-length': String(bomb.length) }, body: bomb });

    expectEnvelope(answer, 413, 'PAYLOAD_TOO_LARGE');
  });

  it.each([
    { case: 'an unknown content encoding', encoding: 'compress', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { case: 'stacked content encodings', encoding: 'gzip, br', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { case: 'a body that is not the gzip it claims', encoding: 'gzip', status: 400, code: 'INVALID_ARGUMENT' },
  ])('answers $case with $status before reading further', async ({ encoding, status, code }) => {
    const answer = await send('POST', '/v1/things', { headers: { ...json, 'content-encoding': encoding }, body: '{"name":"x"}' });

    expectEnvelope(answer, status, code);
  });

  it('refuses a body to a path no route serves with 404, unread', async () => {
    const answer = await sendPieces(`${base}/v1/nothing-here`, { bytes: 256 * 1024 });

    expect(answer.status).toBe(404);
    expect((JSON.parse(answer.body) as Envelope).error.code).toBe('NOT_FOUND');
  });

  it('refuses a body to a known path with a method that takes none with 405, unread', async () => {
    const answer = await sendPieces(`${base}/v1/things/abc`, { method: 'PUT', bytes: 256 * 1024 });

    expect(answer.status).toBe(405);
    expect((JSON.parse(answer.body) as Envelope).error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('refuses a body sent in more pieces than its limit allows (one-byte chunks) with 400 naming the body', async () => {
    // 1 MiB limit: 1,024 + 1,024 pieces at most.
    const answer = await sendPieces(`${base}/v1/things`, { bytes: 4096 });

    expect(answer.status).toBe(400);
    const envelope = JSON.parse(answer.body) as Envelope;
    expect(envelope.error.code).toBe('INVALID_ARGUMENT');
    expect(envelope.error.details).toEqual([{ path: '(body)', message: 'Too many chunks' }]);
  });

  it('takes a body sent in a few hundred small chunks', async () => {
    const body = Buffer.from(JSON.stringify({ name: 'chunky', plan: 'pro', seats: 3 }));
    const answer = await new Promise<Answer>((resolve, reject) => {
      const req = httpRequest(`${base}/v1/things`, { method: 'POST', headers: { ...json, 'transfer-encoding': 'chunked' }, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      for (const byte of body) req.write(Buffer.of(byte));
      req.end();
    });

    expect(answer.status).toBe(201);
    expect(JSON.parse(answer.text)).toEqual({ name: 'chunky', plan: 'pro', seats: 3 });
  });

  it('authenticates a large-limit route from its headers before reading any of the body', async () => {
    bulkAuthCalls = 0;
    const anonymous = await sendPieces(`${base}/v1/things/bulk`, { bytes: 2 * 1024 * 1024 });
    const allowed = await send('POST', '/v1/things/bulk', {
      headers: { ...json, authorization: 'Bearer let-me-in' },
      body: JSON.stringify({ items: [{ name: 'a', plan: 'free', seats: 1 }] }),
    });

    expect(anonymous.status).toBe(401);
    expect(allowed.status).toBe(200);
    expect(JSON.parse(allowed.text)).toEqual({ count: 1 });
    // Once before the body (the gate), once in dispatch; the anonymous one only at the gate.
    expect(bulkAuthCalls).toBe(3);
  });

  it('answers a body that is not JSON with 415', async () => {
    const answer = await send('POST', '/v1/things', { headers: { 'content-type': 'text/plain' }, body: 'name=x' });

    expectEnvelope(answer, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers an unknown path with 404 NOT_FOUND', async () => {
    const answer = await send('GET', '/v1/nothing-here');

    expectEnvelope(answer, 404, 'NOT_FOUND');
  });

  it('answers a known path with the wrong method with 405 and Allow', async () => {
    const answer = await send('DELETE', '/v1/things');

    expectEnvelope(answer, 405, 'METHOD_NOT_ALLOWED');
    expect(String(answer.headers.allow).split(', ').sort()).toEqual(['GET', 'POST']);
  });

  it('answers an unexpected throw with 500 INTERNAL "Internal error", leaking nothing, and logs the real error', async () => {
    const answer = await send('GET', '/v1/boom', { headers: { 'x-request-id': 'req-boom-1' } });

    const body = expectEnvelope(answer, 500, 'INTERNAL');
    expect(body.error.message).toBe('Internal error');
    expect(body.error.details).toEqual([]);
    expect(answer.text).not.toContain('org_secrets');
    expect(answer.text).not.toContain('db-primary');
    const [logged] = logs.find('ERROR', 'Unhandled error');
    expect(logged).toMatchObject({ request_id: 'req-boom-1', function: 'http-wrapper-test', err: { message: INTERNAL_DETAIL } });
  });

  it('answers a result that cannot be serialised with the 500 envelope, one access line, and the error logged', async () => {
    const answer = await send('GET', '/v1/unserialisable', { headers: { 'x-request-id': 'req-bigint-1' } });

    expectEnvelope(answer, 500, 'INTERNAL');
    const [logged] = logs.find('ERROR', 'Writing the response failed');
    expect(logged).toMatchObject({ request_id: 'req-bigint-1', err: { name: 'TypeError' } });
    const access = logs.entries().filter((e) => e.request_id === 'req-bigint-1' && e.httpRequest !== undefined);
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({ severity: 'ERROR', error_code: 'INTERNAL', httpRequest: { status: 500 } });
  });

  it('sends a body the handler streamed itself, ended by the wrapper, with one access line', async () => {
    const answer = await send('GET', '/v1/stream', { headers: { 'x-request-id': 'req-stream-1' } });

    expect(answer.status).toBe(200);
    expect(answer.text).toBe('first,second');
    const access = logs.entries().filter((e) => e.request_id === 'req-stream-1' && e.httpRequest !== undefined);
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({ severity: 'INFO', httpRequest: { status: 200 } });
  });

  it('answers a streaming handler that fails before its first byte with the error envelope', async () => {
    const answer = await send('GET', '/v1/stream?fail=before');

    expectEnvelope(answer, 500, 'INTERNAL');
  });

  it('cuts the transfer of a streaming handler that fails midway, so the client never takes it for complete, and logs it as an error', async () => {
    await expect(send('GET', '/v1/stream?fail=after', { headers: { 'x-request-id': 'req-stream-2' } })).rejects.toThrow();

    await sleep(20);
    const access = logs.entries().filter((e) => e.request_id === 'req-stream-2' && e.httpRequest !== undefined);
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({ severity: 'ERROR', error_code: 'INTERNAL', httpRequest: { status: 200 } });
  });

  it.each([
    { case: 'echoes a sane X-Request-Id', sent: 'trace-abc_123.4:5', echoed: true },
    { case: 'replaces one with spaces', sent: 'has spaces in it', echoed: false },
    { case: 'replaces one that is too long', sent: 'a'.repeat(200), echoed: false },
    { case: 'replaces one with markup', sent: '<script>alert(1)</script>', echoed: false },
    { case: 'generates one when none was sent', sent: undefined, echoed: false },
  ])('$case', async ({ sent, echoed }) => {
    const answer = await send('GET', '/v1/nothing-here', { headers: sent === undefined ? {} : { 'x-request-id': sent } });

    const body = expectEnvelope(answer, 404, 'NOT_FOUND');
    if (echoed) expect(answer.headers['x-request-id']).toBe(sent);
    else expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(body.error.request_id).toBe(answer.headers['x-request-id']);
  });

  it('answers GET /healthz with 200 {"status":"ok"} and an X-Request-Id', async () => {
    const answer = await send('GET', '/healthz');

    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ status: 'ok' });
    expect(answer.headers['x-request-id']).toBeDefined();
  });

  it.each([
    { method: 'GET', body: undefined },
    { method: 'POST', body: '{"n":1}' },
  ])('keeps the deadline of a $method request running while its client waits', async ({ method, body }) => {
    const answer = await send(method, '/v1/signal', { headers: json, body });

    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ aborted: false });
  });

  it('cancels the invocation deadline as soon as the client goes away', async () => {
    cancelled = undefined;
    const controller = new AbortController();
    const request = fetch(`${base}/v1/wait-for-cancel`, { signal: controller.signal }).catch(() => undefined);
    while (cancelled === undefined) await sleep(5);

    const started = performance.now();
    controller.abort();
    const cancellation: Promise<unknown> = cancelled ?? Promise.resolve('route never ran');
    const reason = await Promise.race([cancellation, sleep(2000, 'not cancelled')]);
    await request;

    expect(reason).toMatchObject({ code: 'UNAVAILABLE' });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('writes one access log line per request with httpRequest and the status', async () => {
    await send('GET', '/v1/things?limit=5', { headers: { 'x-request-id': 'req-access-1', 'user-agent': 'vitest' } });

    const lines = logs.entries().filter((e) => e.request_id === 'req-access-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      severity: 'INFO',
      message: 'GET /v1/things 200',
      httpRequest: { requestMethod: 'GET', requestUrl: '/v1/things?limit=5', status: 200, userAgent: 'vitest' },
    });
  });

  it('access lines name the caller (left-most X-Forwarded-For, else the peer), the error code, and no secret from the URL', async () => {
    await send('GET', '/v1/things?limit=5&token=cak_live_0123456789abcdef', {
      headers: { 'x-request-id': 'req-access-2', 'x-forwarded-for': '203.0.113.7, 10.0.0.1', 'user-agent': 'Bearer abcdefghijkl' },
    });
    await send('GET', '/v1/nothing-here', { headers: { 'x-request-id': 'req-access-3' } });

    const [forwarded] = logs.entries().filter((e) => e.request_id === 'req-access-2');
    const [direct] = logs.entries().filter((e) => e.request_id === 'req-access-3');
    expect(forwarded).toMatchObject({ httpRequest: { remoteIp: '203.0.113.7', requestUrl: '/v1/things?limit=5&token=[REDACTED]' } });
    expect(JSON.stringify(forwarded)).not.toContain('cak_live_0123456789abcdef');
    expect(JSON.stringify(forwarded)).not.toContain('abcdefghijkl');
    expect(direct).toMatchObject({ severity: 'WARNING', error_code: 'NOT_FOUND', httpRequest: { status: 404, remoteIp: '127.0.0.1' } });
    expect(forwarded).not.toHaveProperty('error_code');
  });
});

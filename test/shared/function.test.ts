/**
 * `shared/function`: one HTTP and one event function declared the way every function
 * folder declares itself, served by functions-framework's own test server — registered
 * under their targets, named from config in every log line, and with the invocation-end
 * hooks wired so the `last_used_at` flush cannot be forgotten.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { authenticateTenant, lastUsed } from '../../shared/auth/index.js';
import { getDb } from '../../shared/db/index.js';
import { UnavailableError } from '../../shared/errors/index.js';
import { route } from '../../shared/http/index.js';
import { captureLogs, type CapturedLogs } from '../fixtures/runtime/logs.js';
import { call, closeFunctionRuntime, closeTestDb, createTenant, serveFunction, testDb, type ServedFunction } from '../helpers/tenants.js';

// The function's name comes from the runtime config, read when the function is declared.
process.env.FUNCTION_NAME = 'declared-fn';
const { defineEventFunction, defineHttpFunction } = await import('../../shared/function/index.js');

defineHttpFunction('declared-http', {
  routes: [
    route({
      method: 'GET',
      path: '/v1/whoami',
      summary: 'Who the caller is',
      responses: { 200: { description: 'The caller’s org', body: z.object({ org: z.string() }) } },
      auth: authenticateTenant,
      handler: async ({ auth }) => ({ body: { org: auth.orgSlug } }),
    }),
  ],
});

const message = z.strictObject({ run_id: z.uuid() });
const handled: z.infer<typeof message>[] = [];
let failNext = false;

defineEventFunction('declared-event', {
  schema: message,
  handle: async (payload) => {
    if (failNext) {
      failNext = false;
      throw new UnavailableError('the database is away');
    }
    handled.push(payload);
  },
});

let http: ServedFunction;
let events: ServedFunction;
let logs: CapturedLogs;

beforeAll(async () => {
  http = await serveFunction('declared-http');
  events = await serveFunction('declared-event');
});

afterAll(async () => {
  await http?.close();
  await events?.close();
  await closeTestDb();
  await closeFunctionRuntime();
});

beforeEach(() => {
  logs = captureLogs('INFO');
  handled.length = 0;
});

afterEach(() => {
  logs.restore();
});

/** A Pub/Sub push delivery as a structured CloudEvent. */
async function deliver(payload: unknown, messageId: string): Promise<number> {
  const body = {
    specversion: '1.0',
    id: messageId,
    source: '//pubsub.googleapis.com/projects/demo/topics/declared',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: { message: { data: Buffer.from(JSON.stringify(payload)).toString('base64'), messageId, publishTime: new Date().toISOString() } },
  };
  const res = await fetch(events.url, { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

describe('defineHttpFunction', () => {
  it('registers the function under its target and names it from config in the access line', async () => {
    const tenant = await createTenant({ slugPrefix: 'decl' });

    const res = await call(http.url, tenant.apiKey, 'GET', '/v1/whoami');

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ org: tenant.orgSlug });
    const [access] = logs.find('INFO', 'GET /v1/whoami 200');
    expect(access).toMatchObject({ function: 'declared-fn' });
  });

  it('writes last_used_at inside the invocation once a flush is due, before the answer is out', async () => {
    const tenant = await createTenant({ slugPrefix: 'decl' });
    await lastUsed.flush(getDb);
    // 99 other keys used on this instance: the 100th makes the batch due.
    for (let i = 0; i < 99; i += 1) lastUsed.record(randomUUID());

    const res = await call(http.url, tenant.apiKey, 'GET', '/v1/whoami');

    expect(res.status).toBe(200);
    const { rows } = await testDb().query<{ last_used_at: Date | null }>('SELECT last_used_at FROM api_keys WHERE id = $1', [tenant.keyId]);
    expect(rows[0]?.last_used_at).toBeInstanceOf(Date);
    expect(lastUsed.size).toBe(0);
  });
});

describe('defineEventFunction', () => {
  it('registers the function under its target, hands it the parsed message and acks', async () => {
    const runId = randomUUID();

    const status = await deliver({ run_id: runId }, 'msg-ok');

    expect(status).toBeGreaterThanOrEqual(200);
    expect(status).toBeLessThan(300);
    expect(handled).toEqual([{ run_id: runId }]);
  });

  it('acks a poison message without calling the handler, logged under the configured name', async () => {
    const status = await deliver({ run_id: 'not-a-uuid' }, 'msg-poison');

    expect(status).toBeLessThan(300);
    expect(handled).toEqual([]);
    const [line] = logs.find('ERROR', 'poison');
    expect(line).toMatchObject({ function: 'declared-fn', message_id: 'msg-poison' });
  });

  it('answers non-2xx on a transient failure, so Pub/Sub retries', async () => {
    failNext = true;

    const status = await deliver({ run_id: randomUUID() }, 'msg-retry');

    expect(status).toBeGreaterThanOrEqual(500);
    expect(handled).toEqual([]);
  });
});

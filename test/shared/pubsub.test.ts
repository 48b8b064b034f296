import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cloudEvent, type CloudEvent } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { DeadlineExceededError, InvalidArgumentError, NotFoundError, UnavailableError } from '../../shared/errors/index.js';
import { createEventHandler } from '../../shared/pubsub/index.js';
import { captureLogs, type CapturedLogs } from '../fixtures/runtime/logs.js';

const schema = z.object({ run_id: z.string().uuid(), org_slug: z.string().min(3), count: z.number().int().min(0) });
type Message = z.infer<typeof schema>;

const VALID: Message = { run_id: '6f1c2f0e-8a53-4a6e-9f43-1d2b3c4d5e6f', org_slug: 'acme', count: 3 };

/** What the handler under test does with a message; each test sets it. */
let behaviour: (message: Message) => Promise<void> = async () => undefined;
const handled: Message[] = [];

const handleEvent = createEventHandler({
  name: 'pubsub-test',
  schema,
  maxAgeMs: 60 * 60 * 1000,
  handler: async (message) => {
    handled.push(message);
    await behaviour(message);
  },
});

cloudEvent('pubsub-test', handleEvent);

/** A Pub/Sub push CloudEvent as Eventarc delivers it. */
function event({ data, publishTime = new Date(), messageId = 'msg-1' }: { data: string; publishTime?: Date; messageId?: string }): CloudEvent<unknown> {
  return {
    specversion: '1.0',
    id: messageId,
    source: '//pubsub.googleapis.com/projects/demo/topics/pipeline-runs',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    datacontenttype: 'application/json',
    time: publishTime.toISOString(),
    data: {
      message: { data, messageId, publishTime: publishTime.toISOString(), attributes: {} },
      subscription: 'projects/demo/subscriptions/pipeline-runs-worker',
    },
  };
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const jsonData = (value: unknown): string => b64(JSON.stringify(value));

let logs: CapturedLogs;

beforeEach(() => {
  logs = captureLogs('DEBUG');
  handled.length = 0;
  behaviour = async () => undefined;
});

afterEach(() => {
  logs.restore();
});

describe('the Pub/Sub wrapper', () => {
  it('hands a valid message to the handler and acks it', async () => {
    await expect(handleEvent(event({ data: jsonData(VALID) }))).resolves.toBeUndefined();

    expect(handled).toEqual([VALID]);
    expect(logs.entries().filter((e) => e.severity === 'ERROR')).toEqual([]);
  });

  it.each([
    { case: 'bad base64', data: 'not base64 at all!', detail: 'message.data' },
    { case: 'bad JSON', data: b64('{"run_id": '), detail: 'message.data' },
    { case: 'a schema error', data: jsonData({ ...VALID, count: -1 }), detail: 'count' },
    { case: 'an empty payload', data: '', detail: 'message.data' },
  ])('acks a poison message ($case) with an ERROR log naming the problem, never calling the handler', async ({ data, detail }) => {
    await expect(handleEvent(event({ data, messageId: 'poison-1' }))).resolves.toBeUndefined();

    expect(handled).toEqual([]);
    const [line, ...more] = logs.find('ERROR', 'poison');
    expect(more).toEqual([]);
    expect(line).toMatchObject({ message_id: 'poison-1', function: 'pubsub-test' });
    expect((line?.details as { path: string }[]).map((d) => d.path)).toContain(detail);
  });

  it.each([
    { case: 'UnavailableError', error: new UnavailableError('database unavailable') },
    { case: 'DeadlineExceededError', error: new DeadlineExceededError('batch budget ran out') },
    { case: 'a plain Error', error: new Error('socket hang up') },
  ])('rejects (so Pub/Sub retries) when the handler fails transiently: $case', async ({ error }) => {
    behaviour = async () => {
      throw error;
    };

    await expect(handleEvent(event({ data: jsonData(VALID), messageId: 'retry-1' }))).rejects.toBe(error);

    const [line] = logs.find('ERROR', 'Pub/Sub will retry');
    expect(line).toMatchObject({ message_id: 'retry-1', err: { message: error.message } });
  });

  it.each([
    { case: 'NotFoundError', error: new NotFoundError('run does not exist') },
    { case: 'InvalidArgumentError', error: new InvalidArgumentError('date is in the future') },
  ])('acks a message the handler rejects as invalid ($case), logging it at ERROR', async ({ error }) => {
    behaviour = async () => {
      throw error;
    };

    await expect(handleEvent(event({ data: jsonData(VALID), messageId: 'bad-1' }))).resolves.toBeUndefined();

    const [line] = logs.find('ERROR', 'rejected as invalid');
    expect(line).toMatchObject({ message_id: 'bad-1', code: error.code });
  });

  it('drops a message older than maxAgeMs with an ERROR log naming its age', async () => {
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);

    await expect(handleEvent(event({ data: jsonData(VALID), publishTime: twoHoursAgo, messageId: 'old-1' }))).resolves.toBeUndefined();

    expect(handled).toEqual([]);
    const [line] = logs.find('ERROR', 'older than the maximum age');
    expect(line).toMatchObject({ message_id: 'old-1', publish_time: twoHoursAgo.toISOString(), max_age_ms: 3_600_000 });
    expect(line?.age_ms).toBeGreaterThanOrEqual(2 * 60 * 60 * 1000);
    expect(line?.age_ms).toBeLessThan(2 * 60 * 60 * 1000 + 60_000);
  });
});

describe('the Pub/Sub wrapper under functions-framework', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = getTestServer('pubsub-test');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    // functions-framework prints the stack of a failed invocation to stderr itself.
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([
    { case: 'a handled message', data: jsonData(VALID), fail: false, acked: true },
    { case: 'a poison message', data: b64('{oops'), fail: false, acked: true },
    { case: 'a transient failure', data: jsonData(VALID), fail: true, acked: false },
  ])('answers $case with a status Pub/Sub reads as acked=$acked', async ({ data, fail, acked }) => {
    behaviour = async () => {
      if (fail) throw new UnavailableError('database unavailable');
    };

    const res = await fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(event({ data })),
    });
    await res.arrayBuffer();

    expect(res.status >= 200 && res.status < 300).toBe(acked);
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientStats, closeClients, resetClients } from '../../shared/clients/index.js';
import { ConfigError } from '../../shared/config/index.js';
import { Deadline, runWithDeadline } from '../../shared/deadline/index.js';
import { isAppError } from '../../shared/errors/index.js';
import { createPublisher, getPublisher, parsePubSubConfig, resetPubSubConfig } from '../../shared/pubsub/index.js';
import { startTestPubSub, type TestPubSub } from '../fixtures/pubsub.js';
import { startTcpRelay } from '../helpers/tcpRelay.js';

let pubsub: TestPubSub;

beforeAll(async () => {
  pubsub = await startTestPubSub('publisher-test');
  await pubsub.admin.createTopic('pipeline-runs');
  await pubsub.admin.createSubscription('pipeline-runs-reader', { topic: 'pipeline-runs' });
}, 120_000);

afterAll(async () => {
  await resetClients();
  delete process.env.PUBSUB_EMULATOR_HOST;
  resetPubSubConfig();
  await pubsub?.stop();
});

/** Settles `promise` and returns the error it rejected with (fails the test if it resolved). */
async function rejection(promise: Promise<unknown>): Promise<{ code: string; retryable: boolean; message: string }> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  if (!isAppError(error)) throw error;
  return { code: error.code, retryable: error.retryable, message: error.message };
}

/** A stand-in for Pub/Sub's front end that answers every request with `status` (or never). */
async function fakePubSub(status: number | 'hang'): Promise<{ host: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests += 1;
    req.resume();
    if (status === 'hang') return;
    res.writeHead(status, { 'content-type': 'application/json' }).end('{"error":{"message":"backend error"}}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('Pub/Sub settings', () => {
  it.each([
    { env: { PUBSUB_EMULATOR_HOST: '127.0.0.1:8085' }, projectId: 'local-project', emulatorHost: '127.0.0.1:8085' },
    { env: { PUBSUB_EMULATOR_HOST: 'localhost:8085', GOOGLE_CLOUD_PROJECT: 'acme' }, projectId: 'acme', emulatorHost: 'localhost:8085' },
    { env: { GOOGLE_CLOUD_PROJECT: 'acme-prod' }, projectId: 'acme-prod', emulatorHost: undefined },
    { env: { GOOGLE_CLOUD_PROJECT: 'acme-prod', PUBSUB_PROJECT_ID: 'acme-events' }, projectId: 'acme-events', emulatorHost: undefined },
  ])('reads $env as project $projectId', ({ env, projectId, emulatorHost }) => {
    expect(parsePubSubConfig(env)).toEqual({ projectId, emulatorHost, publishAttempts: 3 });
  });

  it('requires a project outside the emulator, naming the variable', () => {
    expect(() => parsePubSubConfig({})).toThrow(ConfigError);
    expect(() => parsePubSubConfig({})).toThrow('environment variable PUBSUB_PROJECT_ID must be set (or GOOGLE_CLOUD_PROJECT)');
  });

  it('rejects an emulator host that is not host:port', () => {
    expect(() => parsePubSubConfig({ PUBSUB_EMULATOR_HOST: 'http://127.0.0.1:8085' })).toThrow('PUBSUB_EMULATOR_HOST must be host:port');
  });
});

describe('the publisher', () => {
  it('publishes JSON with attributes to the emulator and returns the id the subscriber sees', async () => {
    const publisher = createPublisher(parsePubSubConfig({ PUBSUB_EMULATOR_HOST: pubsub.host, PUBSUB_PROJECT_ID: pubsub.projectId }));
    const message = { run_id: '6f1c2f0e-8a53-4a6e-9f43-1d2b3c4d5e6f', org_slug: 'acme', pipeline_id: 'demo_usage_daily', date: '2026-11-28' };

    const id = await publisher.publish('pipeline-runs', message, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });

    const [pulled, ...more] = await pubsub.admin.drain('pipeline-runs-reader');
    expect(more).toEqual([]);
    expect(pulled).toMatchObject({ messageId: id, attributes: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
    expect(JSON.parse(pulled?.data ?? '')).toEqual(message);
  });

  it('is one lazily created client per instance, chosen by PUBSUB_EMULATOR_HOST, refusing to publish once closed at shutdown', async () => {
    process.env.PUBSUB_EMULATOR_HOST = pubsub.host;
    process.env.PUBSUB_PROJECT_ID = pubsub.projectId;
    resetPubSubConfig();
    await resetClients();

    const [a, b] = await Promise.all([getPublisher(), getPublisher()]);
    await a.publish('pipeline-runs', { n: 1 });

    expect(a).toBe(b);
    expect(a).toMatchObject({ emulator: true, projectId: pubsub.projectId });
    expect(clientStats().find((c) => c.name === 'pubsub-publisher')).toMatchObject({ state: 'ready', creations: 1 });
    await closeClients();
    expect(await rejection(a.publish('pipeline-runs', { n: 2 }))).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    await pubsub.admin.drain('pipeline-runs-reader');
    delete process.env.PUBSUB_PROJECT_ID;
  });

  it('fails with INTERNAL, without retrying, when the topic does not exist', async () => {
    const publisher = createPublisher({ projectId: pubsub.projectId, emulatorHost: pubsub.host, publishAttempts: 3 });

    const error = await rejection(publisher.publish('no-such-topic', { n: 1 }));

    expect(error).toMatchObject({ code: 'INTERNAL' });
    expect(error.message).toContain('no-such-topic does not exist (404)');
  });

  it('retries 503 answers and then fails with UNAVAILABLE (retryable)', async () => {
    const fake = await fakePubSub(503);
    try {
      const publisher = createPublisher({ projectId: 'p', emulatorHost: fake.host, publishAttempts: 3 });

      expect(await rejection(publisher.publish('pipeline-runs', { n: 1 }))).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
      expect(fake.requests()).toBe(3);
    } finally {
      await fake.close();
    }
  });

  it('gives up with DEADLINE_EXCEEDED when Pub/Sub does not answer within the invocation deadline', async () => {
    const fake = await fakePubSub('hang');
    try {
      const publisher = createPublisher({ projectId: 'p', emulatorHost: fake.host, publishAttempts: 3 });
      const deadline = new Deadline({ timeoutMs: 600, safetyMarginMs: 100 });
      const started = performance.now();

      const error = await runWithDeadline(deadline, () => rejection(publisher.publish('pipeline-runs', { n: 1 })));

      expect(error).toMatchObject({ code: 'DEADLINE_EXCEEDED', retryable: true });
      expect(performance.now() - started).toBeLessThan(1500);
      deadline.dispose();
    } finally {
      await fake.close();
    }
  });

  it('stops when the caller’s signal aborts', async () => {
    const fake = await fakePubSub('hang');
    try {
      const publisher = createPublisher({ projectId: 'p', emulatorHost: fake.host, publishAttempts: 3 });
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('client went away')), 100);

      expect(await rejection(publisher.publish('pipeline-runs', { n: 1 }, undefined, { signal: controller.signal }))).toMatchObject({
        code: 'DEADLINE_EXCEEDED',
      });
    } finally {
      await fake.close();
    }
  });

  it('fails with UNAVAILABLE within a second once the emulator is gone', async () => {
    // The publisher reaches the emulator through a relay; closing it (its connections
    // destroyed, its port refusing) is the emulator going away — the run's emulator, when the
    // file shares it, is not this file's to stop.
    const relay = await startTcpRelay({ listenAddress: '127.0.0.1', target: pubsub.host });
    const publisher = createPublisher({ projectId: pubsub.projectId, emulatorHost: relay.host, publishAttempts: 3 });
    await publisher.publish('pipeline-runs', { n: 1 });
    await relay.close();
    const started = performance.now();

    const error = await rejection(publisher.publish('pipeline-runs', { n: 2 }));

    expect(error).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    expect(error.message).toContain('ECONNREFUSED');
    expect(performance.now() - started).toBeLessThan(1500);
  });
});

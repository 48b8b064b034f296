import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmulatorUnavailableError, findGcloud, INSTALL_EMULATOR, INSTALL_JAVA, processGroupAlive, startPubSubEmulator } from '../../dev/pubsub/index.js';
import { startTestPubSub, type TestPubSub } from '../fixtures/pubsub.js';
import { pubsubEmulatorSkipReason } from '../helpers/localServices.js';
import { bundleFixture, startFunctionsFramework, type Bundle, type RunningFunction } from '../fixtures/runtime/functionsFramework.js';
import { eventually } from '../fixtures/runtime/postgres.js';

interface Delivery {
  id: string;
  type: string;
  source: string;
  subscription: string;
  messageId: string;
  data: string;
  attributes: Record<string, string>;
  at: number;
}

let pubsub: TestPubSub;
let bundle: Bundle;
let recorder: RunningFunction;
/** Set when the run's emulator is given and this machine could not start one (see the helper). */
const cannotStartEmulator = pubsubEmulatorSkipReason();

/** Every delivery the recorder function has printed so far. */
function deliveries(): Delivery[] {
  return recorder.stdout.flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as { delivery?: Delivery };
      return parsed.delivery === undefined ? [] : [parsed.delivery];
    } catch {
      return [];
    }
  });
}

beforeAll(async () => {
  [pubsub, bundle] = await Promise.all([
    startTestPubSub(),
    bundleFixture(path.join(import.meta.dirname, '../fixtures/pubsub/recorder/index.ts')),
  ]);
  recorder = await startFunctionsFramework({ target: 'recorder', source: bundle.dir, signatureType: 'cloudevent' });
}, 120_000);

afterAll(async () => {
  await recorder?.kill();
  await pubsub?.stop();
  bundle?.remove();
});

describe('the Pub/Sub emulator harness', () => {
  it('delivers a published message to a functions-framework event function as a Pub/Sub CloudEvent', async () => {
    const { admin } = pubsub;
    await admin.createTopic('runs');
    // functions-framework takes the CloudEvent's source from this path, as on the platform.
    await admin.createSubscription('runs-recorder', { topic: 'runs', pushEndpoint: await pubsub.pushEndpoint(`${recorder.url}/${admin.topicPath('runs')}`), ackDeadlineSeconds: 30 });

    const messageId = await admin.publish('runs', { run_id: 'r-1' }, { traceparent: '00-abc-def-01' });

    expect(await eventually(() => deliveries().some((d) => d.messageId === messageId), { timeoutMs: 20_000, intervalMs: 100 })).toBe(true);
    const delivery = deliveries().find((d) => d.messageId === messageId);
    expect(delivery).toMatchObject({
      type: 'google.cloud.pubsub.topic.v1.messagePublished',
      source: `//pubsub.googleapis.com/projects/${pubsub.projectId}/topics/runs`,
      data: '{"run_id":"r-1"}',
      attributes: { traceparent: '00-abc-def-01' },
    });
  });

  it('retries a function that answers 500 with backoff, then forwards the message to the dead-letter topic after maxDeliveryAttempts', async () => {
    const { admin } = pubsub;
    await admin.createTopic('flaky');
    await admin.createTopic('flaky-dead');
    await admin.createSubscription('flaky-dead-reader', { topic: 'flaky-dead' });
    await admin.createSubscription('flaky-recorder', {
      topic: 'flaky',
      pushEndpoint: await pubsub.pushEndpoint(`${recorder.url}/${admin.topicPath('flaky')}`),
      ackDeadlineSeconds: 30,
      retryPolicy: { minimumBackoffSeconds: 1, maximumBackoffSeconds: 2 },
      deadLetterPolicy: { deadLetterTopic: 'flaky-dead', maxDeliveryAttempts: 5 },
    });

    const messageId = await admin.publish('flaky', { run_id: 'r-2' }, { fail: 'always' });

    const dead: Awaited<ReturnType<typeof admin.drain>> = [];
    const arrived = await eventually(
      async () => {
        dead.push(...(await admin.drain('flaky-dead-reader')));
        return dead.length > 0;
      },
      { timeoutMs: 45_000, intervalMs: 250 },
    );
    expect(arrived).toBe(true);
    expect(dead.map((m) => ({ data: m.data, fail: m.attributes.fail }))).toEqual([{ data: '{"run_id":"r-2"}', fail: 'always' }]);
    const attempts = deliveries().filter((d) => d.messageId === messageId);
    expect(attempts).toHaveLength(5);
    const gaps = attempts.slice(1).map((d, i) => d.at - (attempts[i]?.at ?? 0));
    // The minimum backoff is 1 s; allow the emulator's timer a little slack.
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(900);
  }, 60_000);

  it('says what to install when gcloud is not on PATH', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'no-gcloud-'));
    try {
      expect(() => findGcloud({ PATH: empty })).toThrow(EmulatorUnavailableError);
      expect(() => findGcloud({ PATH: empty })).toThrow(INSTALL_EMULATOR);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('says to install Java when gcloud is there but java is not, before spawning anything', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'no-java-'));
    try {
      // A gcloud that fails loudly if run: the answer must come before anything is spawned
      // (and the check needs no Cloud SDK on the machine).
      writeFileSync(path.join(dir, 'gcloud'), '#!/bin/sh\nexit 99\n', { mode: 0o755 });
      const error = await startPubSubEmulator({ env: { PATH: dir } }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(EmulatorUnavailableError);
      expect((error as EmulatorUnavailableError).install).toBe(INSTALL_JAVA);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stop leaves no process behind: neither gcloud nor the java it spawned', async (ctx) => {
    ctx.skip(cannotStartEmulator !== undefined, cannotStartEmulator);
    // One of its own: the file's emulator may be the run's, which is not this file's to stop.
    const emulator = await startPubSubEmulator({ readyTimeoutMs: 80_000 });
    const port = emulator.host.split(':')[1] ?? '';
    expect(processGroupAlive(emulator.pgid)).toBe(true);

    await emulator.stop();

    expect(processGroupAlive(emulator.pgid)).toBe(false);
    // pgrep exits 1 when nothing matches: no java or gcloud for this port is left anywhere.
    const left = (() => {
      try {
        return execFileSync('pgrep', ['-f', `pubsub.*port.${port}`], { encoding: 'utf8' });
      } catch {
        return '';
      }
    })();
    expect(left).toBe('');
    await expect(fetch(emulator.url)).rejects.toThrow();
  }, 120_000);
});

import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseManifest } from '../../deploy/manifest.js';
import { INSTALL_EMULATOR, PubSubAdmin, startLocalPubSub, type LocalPubSub } from '../../dev/pubsub/index.js';
import { eventFnInput, fnInput, manifestInput } from '../deploy/manifestCases.js';
import { bundleFixture, startFunctionsFramework, type Bundle, type RunningFunction } from '../fixtures/runtime/functionsFramework.js';
import { eventually } from '../fixtures/runtime/postgres.js';
import { pubsubEmulatorSkipReason } from '../helpers/localServices.js';

/** A manifest like the real one: an HTTP function, an event function with a dead-letter topic, and a topic nobody consumes. */
const manifest = parseManifest(
  manifestInput(
    [
      fnInput('api'),
      eventFnInput('recorder', { topic: 'pipeline-runs', deadLetterTopic: 'pipeline-runs-dead', minBackoffSeconds: 1, maxBackoffSeconds: 2, maxDeliveryAttempts: 5, ackDeadlineSeconds: 30 }, { timeoutSeconds: 30, tiers: ['user'] }),
    ],
    { topics: ['pipeline-runs', 'pipeline-runs-dead', 'maintenance-ticks'] },
  ),
);

const lines: string[] = [];
let local: LocalPubSub;
let bundle: Bundle;
let recorder: RunningFunction;
/** Set when the run's emulator is given and this machine could not start one (see the helper). */
const cannotStartEmulator = pubsubEmulatorSkipReason();

describe('Pub/Sub in the local stack', () => {
  beforeAll(async () => {
    if (cannotStartEmulator !== undefined) return;
    [local, bundle] = await Promise.all([
      startLocalPubSub({ manifest, out: (line) => lines.push(line) }),
      bundleFixture(path.join(import.meta.dirname, '../fixtures/pubsub/recorder/index.ts')),
    ]);
    recorder = await startFunctionsFramework({ target: 'recorder', source: bundle.dir, signatureType: 'cloudevent' });
    await local.subscribe(new Map([['recorder', recorder.url]]));
  }, 120_000);

  afterAll(async () => {
    await recorder?.kill();
    await local?.stop();
    bundle?.remove();
  });

  beforeEach((ctx) => ctx.skip(cannotStartEmulator !== undefined, cannotStartEmulator));

  it('creates the manifest’s topics and a push subscription per event function with the deployed delivery settings', async () => {
    const info = local.info;
    expect(info).toEqual({ emulator_host: expect.stringMatching(/^127\.0\.0\.1:\d+$/), project_id: 'local-project' });
    expect(local.env).toEqual({ PUBSUB_EMULATOR_HOST: info?.emulator_host, PUBSUB_PROJECT_ID: 'local-project' });
    const admin = new PubSubAdmin({ host: info?.emulator_host ?? '', projectId: 'local-project' });

    // Every topic exists: creating one again reports it was there.
    for (const topic of manifest.topics) expect(await admin.createTopic(topic)).toBe(false);
    expect(await admin.getSubscription('recorder-push')).toMatchObject({
      topic: 'projects/local-project/topics/pipeline-runs',
      pushConfig: { pushEndpoint: `${recorder.url}/projects/local-project/topics/pipeline-runs` },
      ackDeadlineSeconds: 30,
      retryPolicy: { minimumBackoff: '1s', maximumBackoff: '2s' },
      deadLetterPolicy: { deadLetterTopic: 'projects/local-project/topics/pipeline-runs-dead', maxDeliveryAttempts: 5 },
    });
  });

  it('prints a message that failed every delivery attempt when it reaches the dead-letter topic', async () => {
    const admin = new PubSubAdmin({ host: local.info?.emulator_host ?? '', projectId: 'local-project' });

    await admin.publish('pipeline-runs', { run_id: 'doomed' }, { fail: 'always' });

    const printed = () => lines.find((l) => l.startsWith('[pubsub] DEAD LETTER on pipeline-runs-dead') && l.includes('{"run_id":"doomed"}'));
    expect(await eventually(() => printed() !== undefined, { timeoutMs: 45_000, intervalMs: 200 })).toBe(true);
    expect(printed()).toContain('"fail":"always"');
  }, 60_000);

  it('stops the emulator with the stack, leaving no process behind', async () => {
    const host = local.info?.emulator_host ?? '';

    await local.stop();

    await expect(fetch(`http://${host}`)).rejects.toThrow();
    expect(lines.filter((l) => l.includes('failed'))).toEqual([]);
  });
});

describe('Pub/Sub in the local stack, on a machine without the emulator', () => {
  it('says what to install and runs on without Pub/Sub when gcloud is missing', async () => {
    const out: string[] = [];

    const without = await startLocalPubSub({ manifest, out: (line) => out.push(line), env: { PATH: '/nonexistent' } });

    expect(without.info).toBeUndefined();
    expect(without.env).toEqual({});
    expect(out.join('\n')).toContain(INSTALL_EMULATOR);
    // Nothing to subscribe on, and nothing to stop: both are no-ops.
    await without.subscribe(new Map([['recorder', 'http://127.0.0.1:9']]));
    await without.stop();
  });
});

/**
 * `shared/pipelines`: what the pipelines function, the worker and maintenance agree on —
 * the run message and its dates, pipeline ids, the shared attempts setting — and
 * `publishRun` against the official Pub/Sub emulator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetClients } from '../../shared/clients/index.js';
import { ConfigError } from '../../shared/config/index.js';
import { resetPubSubConfig } from '../../shared/pubsub/index.js';
import {
  PIPELINE_RUNS_TOPIC,
  isoDate,
  parsePipelineConfig,
  pipelineRunMessage,
  providerOfPipeline,
  publishRun,
  type PipelineRunMessage,
} from '../../shared/pipelines/index.js';
import { startTestPubSub, type TestPubSub } from '../fixtures/pubsub.js';

let pubsub: TestPubSub;

beforeAll(async () => {
  pubsub = await startTestPubSub('pipelines-test');
  await pubsub.admin.createTopic(PIPELINE_RUNS_TOPIC);
  await pubsub.admin.createSubscription('runs-reader', { topic: PIPELINE_RUNS_TOPIC });
  process.env.PUBSUB_EMULATOR_HOST = pubsub.host;
  process.env.PUBSUB_PROJECT_ID = pubsub.projectId;
  resetPubSubConfig();
}, 120_000);

afterAll(async () => {
  await resetClients();
  delete process.env.PUBSUB_EMULATOR_HOST;
  delete process.env.PUBSUB_PROJECT_ID;
  resetPubSubConfig();
  await pubsub?.stop();
});

const message: PipelineRunMessage = { run_id: '6f1c2f0e-8a53-4a6e-9f43-1d2b3c4d5e6f', org_slug: 'acme', pipeline_id: 'demo_usage_daily', date: '2026-11-28' };

describe('isoDate', () => {
  it.each(['2026-11-28', '2024-02-29', '2000-02-29', '1999-12-31'])('accepts the real day %s', (date) => {
    expect(isoDate.safeParse(date).success).toBe(true);
  });

  it.each([
    ['a day past the end of its month', '2026-02-30'],
    ['February 29th of a common year', '2023-02-29'],
    ['February 29th of a century that is not a leap year', '1900-02-29'],
    ['month 13', '2026-13-01'],
    ['day 0', '2026-01-00'],
    ['an unpadded month', '2026-1-01'],
    ['a timestamp', '2026-11-28T00:00:00Z'],
    ['slashes', '2026/11/28'],
  ])('refuses %s (%s)', (_name, date) => {
    expect(isoDate.safeParse(date).success).toBe(false);
  });
});

describe('the run message', () => {
  it('accepts the message the pipelines function publishes', () => {
    expect(pipelineRunMessage.parse(message)).toEqual(message);
  });

  it.each<[string, Record<string, unknown>]>([
    ['an extra field', { ...message, attempt: 2 }],
    ['a run id that is not a UUID', { ...message, run_id: 'run-1' }],
    ['an org slug with capitals', { ...message, org_slug: 'Acme' }],
    ['a pipeline id with a dash', { ...message, pipeline_id: 'demo-usage-daily' }],
    ['a date that is not a day', { ...message, date: '2026-02-30' }],
    ['a missing date', { run_id: message.run_id, org_slug: message.org_slug, pipeline_id: message.pipeline_id }],
  ])('refuses %s', (_name, candidate) => {
    expect(pipelineRunMessage.safeParse(candidate).success).toBe(false);
  });
});

describe('providerOfPipeline', () => {
  it.each([
    ['demo_usage_daily', 'demo'],
    ['openai_usage_daily', 'openai'],
    ['anthropic_usage_daily', 'anthropic'],
    ['mistral_usage_daily', undefined],
    ['openai_usage_weekly', undefined],
    ['_usage_daily', undefined],
    ['openai', undefined],
  ])('reads %s as %s', (pipelineId, provider) => {
    expect(providerOfPipeline(pipelineId)).toBe(provider);
  });
});

describe('parsePipelineConfig', () => {
  it('gives a run 5 attempts by default, and takes the configured number', () => {
    expect(parsePipelineConfig({})).toEqual({ PIPELINE_MAX_ATTEMPTS: 5 });
    expect(parsePipelineConfig({ PIPELINE_MAX_ATTEMPTS: '12' })).toEqual({ PIPELINE_MAX_ATTEMPTS: 12 });
  });

  it.each(['0', '101', 'five', '2.5'])('refuses PIPELINE_MAX_ATTEMPTS=%s, naming the variable', (value) => {
    const attempt = (): unknown => parsePipelineConfig({ PIPELINE_MAX_ATTEMPTS: value });

    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/PIPELINE_MAX_ATTEMPTS/);
  });
});

describe('publishRun', () => {
  it('publishes the run to pipeline-runs as JSON, with its run id and org as attributes, and returns the message id', async () => {
    const id = await publishRun(message);

    const [pulled, ...more] = await pubsub.admin.drain('runs-reader');
    expect(more).toEqual([]);
    expect(pulled).toMatchObject({ messageId: id, attributes: { run_id: message.run_id, org_slug: 'acme' } });
    expect(JSON.parse(pulled?.data ?? '')).toEqual(message);
  });

  it('gives up with DEADLINE_EXCEEDED (retryable), publishing nothing, when the caller’s signal has aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('client went away'));

    const error = await publishRun(message, controller.signal).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'DEADLINE_EXCEEDED', retryable: true });
    expect(await pubsub.admin.drain('runs-reader')).toEqual([]);
  });
});

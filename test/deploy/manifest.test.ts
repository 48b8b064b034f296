import { describe, expect, it } from 'vitest';
import { parseRuntimeConfig } from '../../shared/config/index.js';
import { TIER_NAMES } from '../../shared/deadline/index.js';
import { functionEnv, getFunction, manifest, ManifestError, parseManifest, withHeapCap } from '../../deploy/manifest.js';
import { eventFnInput, fnInput, manifestInput } from './manifestCases.js';

describe('deploy manifest', () => {
  it('accepts a well-formed manifest and fills in the defaults', () => {
    const parsed = parseManifest(manifestInput([fnInput('alpha')]));

    expect(parsed.functions[0]).toMatchObject({ runtime: 'nodejs22', region: 'europe-west1', needsAdminToken: false, env: {} });
    expect(parsed.safetyMarginMs).toBe(1000);
  });

  it.each([
    { case: 'a pool larger than 3', fn: fnInput('alpha', { dbPoolMax: 4 }), message: 'functions.0.dbPoolMax: must be at most 3' },
    { case: 'an empty pool', fn: fnInput('alpha', { dbPoolMax: 0 }), message: 'functions.0.dbPoolMax: must be at least 1' },
    {
      case: 'an unknown tier',
      fn: fnInput('alpha', { tiers: ['auth', 'forever' as 'auth'] }),
      message: `functions.0.tiers.1: must be one of ${TIER_NAMES.join(', ')}`,
    },
    { case: 'a name with capitals and underscores', fn: fnInput('Bad_Name'), message: 'functions.0.name: must be lowercase' },
    { case: 'a name ending in a dash', fn: fnInput('alpha-'), message: 'functions.0.name: must be lowercase' },
    { case: 'an entry point other than the name', fn: fnInput('alpha', { entryPoint: 'main' }), message: 'functions.0.entryPoint: must equal the name (alpha)' },
    { case: 'a source outside functions/<name>', fn: fnInput('alpha', { source: 'src/alpha' }), message: 'functions.0.source: must be functions/alpha' },
    { case: 'min instances above max', fn: fnInput('alpha', { minInstances: 3, maxInstances: 2 }), message: 'functions.0.minInstances: must not exceed maxInstances (2)' },
    { case: 'an unsupported memory size', fn: fnInput('alpha', { memory: '300Mi' as '256Mi' }), message: 'functions.0.memory' },
    { case: 'an unsupported runtime', fn: fnInput('alpha', { runtime: 'nodejs18' as 'nodejs22' }), message: 'functions.0.runtime' },
    {
      case: 'a timeout set through env instead of timeoutSeconds',
      fn: fnInput('alpha', { env: { FUNCTION_TIMEOUT_SECONDS: '999' } }),
      message: 'functions.0.env.FUNCTION_TIMEOUT_SECONDS: is set by the manifest or the platform',
    },
    {
      case: 'a secret that is not secret:version',
      fn: fnInput('alpha', { secrets: { API_KEY: 'api-key' } }),
      message: 'functions.0.secrets.API_KEY: must be a Secret Manager reference secret:version',
    },
    {
      case: 'a topic trigger without a topic',
      fn: fnInput('alpha', { trigger: { type: 'topic' } as unknown as { type: 'http' } }),
      message: 'functions.0.trigger.topic',
    },
    { case: 'an unknown field', fn: { ...fnInput('alpha'), timeout: 60 }, message: 'functions.0: Unrecognized key: "timeout"' },
  ])('rejects $case', ({ fn, message }) => {
    expect(() => parseManifest(manifestInput([fn]))).toThrow(ManifestError);
    expect(() => parseManifest(manifestInput([fn]))).toThrow(message);
  });

  it('rejects two functions with the same name', () => {
    expect(() => parseManifest(manifestInput([fnInput('alpha'), fnInput('alpha')]))).toThrow('functions.1.name: alpha appears twice');
  });

  it('lists every problem at once', () => {
    const error = (() => {
      try {
        parseManifest(manifestInput([fnInput('alpha', { dbPoolMax: 4, maxInstances: 0 })]));
      } catch (e) {
        return e;
      }
      return undefined;
    })();

    expect(error).toBeInstanceOf(ManifestError);
    expect((error as ManifestError).problems).toHaveLength(2);
  });

  it('holds the twelve functions, each named after its folder: eight HTTP, and the four event functions on their topics', () => {
    expect(manifest.functions.map((f) => f.name)).toEqual([
      'orgs',
      'quota',
      'pricing',
      'subscriptions',
      'integrations',
      'costs',
      'pipelines',
      'pipeline-worker',
      'maintenance',
      'budgets',
      'budget-alerts',
      'budget-alert-delivery',
    ]);
    for (const fn of manifest.functions) {
      expect(fn).toMatchObject({ entryPoint: fn.name, source: `functions/${fn.name}` });
    }
    expect(manifest.functions.filter((f) => f.trigger.type === 'http').map((f) => f.name)).toEqual(['orgs', 'quota', 'pricing', 'subscriptions', 'integrations', 'costs', 'pipelines', 'budgets']);
    expect(getFunction('budget-alerts').trigger).toMatchObject({ type: 'topic', topic: 'usage-updated', deadLetterTopic: 'usage-updated-dead' });
    expect(getFunction('budget-alert-delivery').trigger).toMatchObject({ type: 'topic', topic: 'budget-alert-deliveries', deadLetterTopic: 'budget-alert-deliveries-dead', maxDeliveryAttempts: 5 });
    expect(getFunction('pipeline-worker').trigger).toMatchObject({ type: 'topic', topic: 'pipeline-runs', deadLetterTopic: 'pipeline-runs-dead', maxDeliveryAttempts: 5 });
    expect(getFunction('maintenance').trigger).toMatchObject({ type: 'topic', topic: 'maintenance-ticks' });
    expect(manifest.cloudSql).toMatchObject({ tier: 'db-f1-micro', maxConnections: 25, reserved: 3 });
  });

  it('gives the worker and maintenance the same max attempts as the run subscription\'s dead-letter policy', () => {
    const trigger = getFunction('pipeline-worker').trigger as { maxDeliveryAttempts?: number };
    expect(functionEnv('pipeline-worker').PIPELINE_MAX_ATTEMPTS).toBe(String(trigger.maxDeliveryAttempts));
    expect(functionEnv('maintenance').PIPELINE_MAX_ATTEMPTS).toBe(String(trigger.maxDeliveryAttempts));
  });

  it('gives alert delivery the same max attempts as its subscription\'s dead-letter policy', () => {
    const trigger = getFunction('budget-alert-delivery').trigger as { maxDeliveryAttempts?: number };
    expect(functionEnv('budget-alert-delivery').ALERT_MAX_DELIVERY_ATTEMPTS).toBe(String(trigger.maxDeliveryAttempts));
  });

  it('refuses the local-only webhook flag in any function\'s environment', () => {
    expect(() => parseManifest({ ...manifestInput([fnInput('alpha')]), env: { WEBHOOK_ALLOW_LOOPBACK_HTTP: 'true' } })).toThrow(/local stack and tests only/);
    expect(() => parseManifest(manifestInput([fnInput('alpha', { env: { WEBHOOK_ALLOW_LOOPBACK_HTTP: 'true' } })]))).toThrow(/local stack and tests only/);
  });

  it('gives only orgs the admin token', () => {
    expect(manifest.functions.filter((f) => f.needsAdminToken).map((f) => f.name)).toEqual(['orgs']);
  });
});

describe('functionEnv', () => {
  it('passes the manifest timeout to the function as FUNCTION_TIMEOUT_SECONDS', () => {
    expect(functionEnv('quota').FUNCTION_TIMEOUT_SECONDS).toBe(String(getFunction('quota').timeoutSeconds));
  });

  it.each(manifest.functions.map((f) => ({ name: f.name, timeoutSeconds: f.timeoutSeconds, dbPoolMax: f.dbPoolMax })))(
    'gives $name an environment the runtime accepts, with its name, timeout and pool size',
    ({ name, timeoutSeconds, dbPoolMax }) => {
      const config = parseRuntimeConfig(functionEnv(name));

      expect(config.functionName).toBe(name);
      expect(config.FUNCTION_TIMEOUT_SECONDS).toBe(timeoutSeconds);
      expect(config.DB_POOL_MAX).toBe(dbPoolMax);
      expect(config.DEADLINE_SAFETY_MARGIN_MS).toBe(manifest.safetyMarginMs);
    },
  );

  it.each([
    { options: '--enable-source-maps', memory: '512Mi', expected: '--enable-source-maps --max-old-space-size=384' },
    { options: '--enable-source-maps', memory: '1Gi', expected: '--enable-source-maps --max-old-space-size=768' },
    { options: '', memory: '256Mi', expected: '--max-old-space-size=192' },
    { options: '--max-old-space-size=100 --enable-source-maps', memory: '1Gi', expected: '--max-old-space-size=100 --enable-source-maps' },
  ])('caps the heap at three quarters of the instance: $memory, $options', ({ options, memory, expected }) => {
    expect(withHeapCap(options, memory)).toBe(expected);
  });

  it('includes the manifest env and keeps cloud-only settings out', () => {
    const env = functionEnv('integrations');

    // integrations has 512Mi: the heap may take three quarters of it.
    expect(env.NODE_OPTIONS).toBe('--enable-source-maps --max-semi-space-size=4 --max-old-space-size=384');
    expect(env).not.toHaveProperty('KMS_KEY_NAME');
    expect(env).not.toHaveProperty('INSTANCE_CONNECTION_NAME');
  });

  it('throws naming the known functions for an unknown name', () => {
    expect(() => functionEnv('nope')).toThrow('No function "nope" in the deploy manifest (known: orgs, quota');
  });
});

describe('topics, topic triggers and scheduler jobs', () => {
  it('fills in the delivery defaults of a topic trigger', () => {
    const parsed = parseManifest(manifestInput([eventFnInput('runner')]));

    expect(parsed.topics).toEqual(['pipeline-runs']);
    expect(parsed.functions[0]?.trigger).toEqual({
      type: 'topic',
      topic: 'pipeline-runs',
      retry: true,
      maxDeliveryAttempts: 5,
      minBackoffSeconds: 10,
      maxBackoffSeconds: 600,
      ackDeadlineSeconds: 600,
    });
  });

  it('accepts a scheduler job on a listed topic, defaulting to UTC and an empty JSON body', () => {
    const parsed = parseManifest(
      manifestInput([fnInput('alpha')], { topics: ['ticks'], schedulerJobs: [{ name: 'tick', schedule: '*/5 * * * *', topic: 'ticks' }] }),
    );

    expect(parsed.schedulerJobs).toEqual([{ name: 'tick', schedule: '*/5 * * * *', timeZone: 'UTC', topic: 'ticks', messageBody: '{}', region: 'europe-west1' }]);
  });

  it.each([
    { case: 'a trigger topic missing from topics', input: manifestInput([eventFnInput('runner')], { topics: [] }), message: 'functions.0.trigger.topic: pipeline-runs is not in topics' },
    {
      case: 'a dead-letter topic missing from topics',
      input: manifestInput([eventFnInput('runner', { deadLetterTopic: 'runs-dead' })], { topics: ['pipeline-runs'] }),
      message: 'functions.0.trigger.deadLetterTopic: runs-dead is not in topics',
    },
    { case: 'a dead-letter topic equal to the trigger topic', input: manifestInput([eventFnInput('runner', { deadLetterTopic: 'pipeline-runs' })]), message: 'functions.0.trigger.deadLetterTopic: must differ from the trigger topic' },
    { case: 'dead letters without retries', input: manifestInput([eventFnInput('runner', { retry: false, deadLetterTopic: 'runs-dead' })]), message: 'functions.0.trigger.deadLetterTopic: needs retry' },
    { case: 'a maximum backoff below the minimum', input: manifestInput([eventFnInput('runner', { minBackoffSeconds: 60, maxBackoffSeconds: 30 })]), message: 'functions.0.trigger.maxBackoffSeconds: must be at least minBackoffSeconds (60)' },
    { case: 'fewer than 5 delivery attempts (Pub/Sub’s minimum)', input: manifestInput([eventFnInput('runner', { maxDeliveryAttempts: 4 })]), message: 'functions.0.trigger.maxDeliveryAttempts: must be at least 5' },
    { case: 'an ack deadline above 600 s', input: manifestInput([eventFnInput('runner', { ackDeadlineSeconds: 601 })]), message: 'functions.0.trigger.ackDeadlineSeconds: must be at most 600' },
    { case: 'a topic id starting with goog', input: manifestInput([eventFnInput('runner', { topic: 'google-runs' })]), message: 'functions.0.trigger.topic: must be a Pub/Sub topic id' },
    { case: 'a repeated topic', input: manifestInput([fnInput('alpha')], { topics: ['runs', 'runs'] }), message: 'topics: must not repeat a topic' },
    {
      case: 'a scheduler job on an unlisted topic',
      input: manifestInput([fnInput('alpha')], { schedulerJobs: [{ name: 'tick', schedule: '*/5 * * * *', topic: 'ticks' }] }),
      message: 'schedulerJobs.0.topic: ticks is not in topics',
    },
    {
      case: 'a schedule that is not five-field cron',
      input: manifestInput([fnInput('alpha')], { topics: ['ticks'], schedulerJobs: [{ name: 'tick', schedule: 'every 5 minutes', topic: 'ticks' }] }),
      message: 'schedulerJobs.0.schedule: must be a five-field unix-cron schedule',
    },
  ])('rejects $case', ({ input, message }) => {
    expect(() => parseManifest(input)).toThrow(message);
  });

  it('creates the pipeline and budget topics, ticks maintenance every 5 minutes and evaluates budgets daily (UTC) in the real manifest', () => {
    expect(manifest.topics).toEqual(['pipeline-runs', 'pipeline-runs-dead', 'maintenance-ticks', 'usage-updated', 'usage-updated-dead', 'budget-alert-deliveries', 'budget-alert-deliveries-dead']);
    expect(manifest.schedulerJobs).toEqual([
      { name: 'maintenance-tick', schedule: '*/5 * * * *', timeZone: 'UTC', topic: 'maintenance-ticks', messageBody: '{}', region: 'europe-west1' },
      { name: 'budget-evaluation-daily', schedule: '30 6 * * *', timeZone: 'UTC', topic: 'usage-updated', messageBody: '{}', region: 'europe-west1' },
    ]);
  });
});

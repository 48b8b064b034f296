import type { ManifestInput } from '../../deploy/manifest.js';

type FunctionInput = ManifestInput['functions'][number];

/** A valid HTTP function entry named `name`, with `overrides` applied. */
export function fnInput(name: string, overrides: Partial<FunctionInput> = {}): FunctionInput {
  return {
    name,
    entryPoint: name,
    source: `functions/${name}`,
    trigger: { type: 'http' },
    memory: '512Mi',
    cpu: 1,
    timeoutSeconds: 60,
    minInstances: 0,
    maxInstances: 2,
    concurrency: 10,
    dbPoolMax: 1,
    tiers: ['auth', 'user'],
    ...overrides,
  };
}

/** The topic a trigger names, and its dead-letter topic. */
function triggerTopics(fn: FunctionInput): string[] {
  const trigger = fn.trigger as { topic?: string; deadLetterTopic?: string };
  return [trigger.topic, trigger.deadLetterTopic].filter((t): t is string => t !== undefined);
}

/**
 * A valid manifest on db-f1-micro (25 connections, 3 reserved, headroom 2) holding
 * `functions`, with the topics their triggers name listed in `topics` (unless overridden).
 */
export function manifestInput(functions: FunctionInput[], overrides: Partial<ManifestInput> = {}): ManifestInput {
  return {
    topics: [...new Set(functions.flatMap(triggerTopics))],
    cloudSql: {
      tier: 'db-f1-micro',
      maxConnections: 25,
      reserved: 3,
      instance: 'test-pg',
      region: 'europe-west1',
      database: 'app',
      user: 'app',
      ipType: 'PUBLIC',
      passwordSecret: 'db-password:latest',
    },
    adminHeadroom: 2,
    cloud: { serviceAccount: 'test-functions', adminTokenSecret: 'admin-token:1' },
    functions,
    ...overrides,
  };
}

/** An event function on `topic` with a batch-tier timeout, `trigger` fields and `overrides` applied. */
export function eventFnInput(name: string, trigger: Record<string, unknown> = {}, overrides: Partial<FunctionInput> = {}): FunctionInput {
  return fnInput(name, {
    trigger: { type: 'topic', topic: 'pipeline-runs', ...trigger } as FunctionInput['trigger'],
    tiers: ['batch'],
    timeoutSeconds: 320,
    ...overrides,
  });
}

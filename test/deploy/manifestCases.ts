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

/** A valid manifest on db-f1-micro (25 connections, 3 reserved, headroom 2) holding `functions`. */
export function manifestInput(functions: FunctionInput[], overrides: Partial<ManifestInput> = {}): ManifestInput {
  return {
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

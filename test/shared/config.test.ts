import { describe, expect, it } from 'vitest';
import { ConfigError, parseRuntimeConfig, POOL_MAX_CEILING, type Env } from '../../shared/config/index.js';

const URL_OK = 'postgres://app@127.0.0.1:5432/cloudact';

function configErrorOf(env: Env): ConfigError {
  try {
    parseRuntimeConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseRuntimeConfig', () => {
  it.each<{ case: string; env: Env; bad: string[] }>([
    { case: 'a timeout that is not a number', env: { FUNCTION_TIMEOUT_SECONDS: 'sixty' }, bad: ['FUNCTION_TIMEOUT_SECONDS'] },
    { case: 'a pool larger than the ceiling', env: { DB_POOL_MAX: '10' }, bad: ['DB_POOL_MAX'] },
    { case: 'a pool of zero', env: { DB_POOL_MAX: '0' }, bad: ['DB_POOL_MAX'] },
    { case: 'a non-postgres database URL', env: { DATABASE_URL: 'mysql://app@db/cloudact' }, bad: ['DATABASE_URL'] },
    { case: 'an upper-case function name', env: { FUNCTION_NAME: 'Orgs_API' }, bad: ['FUNCTION_NAME'] },
    {
      case: 'several bad variables at once',
      env: { FUNCTION_TIMEOUT_SECONDS: '0', DB_IP_TYPE: 'VPN', DB_IAM_AUTH: 'maybe', MAX_BODY_BYTES: '10', DEADLINE_SAFETY_MARGIN_MS: '-1' },
      bad: ['FUNCTION_TIMEOUT_SECONDS', 'DB_IP_TYPE', 'DB_IAM_AUTH', 'MAX_BODY_BYTES', 'DEADLINE_SAFETY_MARGIN_MS'],
    },
    {
      case: 'both ways to reach PostgreSQL',
      env: { DATABASE_URL: URL_OK, INSTANCE_CONNECTION_NAME: 'demo:europe-west1:main', DB_USER: 'app', DB_NAME: 'cloudact' },
      bad: ['INSTANCE_CONNECTION_NAME'],
    },
    { case: 'a Cloud SQL instance without user and database', env: { INSTANCE_CONNECTION_NAME: 'demo:europe-west1:main' }, bad: ['DB_USER'] },
    {
      case: 'a bad timeout together with a cross-variable conflict',
      env: { FUNCTION_TIMEOUT_SECONDS: 'x', DATABASE_URL: URL_OK, INSTANCE_CONNECTION_NAME: 'demo:europe-west1:main', DB_USER: 'app', DB_NAME: 'cloudact' },
      bad: ['FUNCTION_TIMEOUT_SECONDS', 'INSTANCE_CONNECTION_NAME'],
    },
  ])('names every bad variable: $case', ({ env, bad }) => {
    const error = configErrorOf(env);

    expect(error.problems.map((p) => p.variable).sort()).toEqual([...bad].sort());
    for (const variable of bad) expect(error.message).toContain(`environment variable ${variable} `);
  });

  it('treats empty values as unset and applies the documented defaults', () => {
    const config = parseRuntimeConfig({ FUNCTION_TIMEOUT_SECONDS: '', DB_POOL_MAX: '  ', K_SERVICE: 'orgs' });

    expect(config).toMatchObject({
      functionName: 'orgs',
      FUNCTION_TIMEOUT_SECONDS: 60,
      DEADLINE_SAFETY_MARGIN_MS: 1000,
      DB_POOL_MAX: POOL_MAX_CEILING,
      MAX_BODY_BYTES: 1024 * 1024,
      DB_IAM_AUTH: false,
    });
  });

  it('lets configuration lower the pool but never raise it above the ceiling', () => {
    expect(parseRuntimeConfig({ DB_POOL_MAX: '1' }).DB_POOL_MAX).toBe(1);
    expect(POOL_MAX_CEILING).toBe(3);
    expect(() => parseRuntimeConfig({ DB_POOL_MAX: String(POOL_MAX_CEILING + 1) })).toThrow(/DB_POOL_MAX must be at most 3/);
  });

  it('does not echo a secret it rejects', () => {
    const error = configErrorOf({ DATABASE_URL: 'mysql://app:hunter2-secret@db/cloudact' });

    expect(error.message).not.toContain('hunter2-secret');
  });
});

import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  envBool,
  envEnum,
  envInt,
  envString,
  envText,
  envTextOr,
  envUrl,
  optional,
  parseEnv,
  parseRuntimeConfig,
  POOL_MAX_CEILING,
  type Env,
} from '../../shared/config/index.js';

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

describe('parseEnv and the variable parsers', () => {
  const problemsOf = (run: () => unknown): { variable: string; message: string }[] => {
    try {
      run();
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    throw new Error('expected a ConfigError');
  };

  it('parses integers as Number() does, within bounds, with the default when unset or blank', () => {
    const shape = { N: envInt({ min: 1, max: 1000, default: 7 }) };

    expect(parseEnv(shape, {}).N).toBe(7);
    expect(parseEnv(shape, { N: '  ' }).N).toBe(7);
    expect(parseEnv(shape, { N: ' 42 ' }).N).toBe(42);
    expect(parseEnv(shape, { N: '1e3' }).N).toBe(1000);
    expect(problemsOf(() => parseEnv(shape, { N: 'ten' }))).toEqual([{ variable: 'N', message: 'must be an integer' }]);
    expect(problemsOf(() => parseEnv(shape, { N: '1.5' }))).toEqual([{ variable: 'N', message: 'must be an integer' }]);
    expect(problemsOf(() => parseEnv(shape, { N: '0' }))).toEqual([{ variable: 'N', message: 'must be at least 1' }]);
    expect(problemsOf(() => parseEnv(shape, { N: '1001' }))).toEqual([{ variable: 'N', message: 'must be at most 1000' }]);
    // Without a default it must be set, unless optional.
    expect(problemsOf(() => parseEnv({ M: envInt({ min: 0, max: 1 }) }, {}))).toEqual([{ variable: 'M', message: 'must be an integer' }]);
    expect(parseEnv({ M: optional(envInt({ min: 0, max: 1 })) }, {}).M).toBeUndefined();
  });

  it('parses booleans, strings, patterns, URLs and enums', () => {
    const shape = {
      B: envBool(true),
      S: envString('must be set (a name)', { length: 3, message: 'must be at least 3 characters' }),
      P: envText({ pattern: /^[a-z]+$/, message: 'must be lowercase letters' }),
      D: envTextOr('EU'),
      U: envUrl('must be a URL'),
      E: envEnum(['A', 'B'], { fallback: 'A', message: 'must be A or B' }),
      L: envEnum(['INFO', 'DEBUG'], { fallback: 'INFO', lenient: true }),
    };

    expect(parseEnv(shape, { S: 'abc', B: 'no', U: 'http://127.0.0.1:9050', E: 'B', L: 'LOUD' })).toEqual({
      B: false,
      S: 'abc',
      P: undefined,
      D: 'EU',
      U: 'http://127.0.0.1:9050',
      E: 'B',
      L: 'INFO',
    });
    expect(problemsOf(() => parseEnv(shape, { B: 'maybe', S: 'ab', P: 'ABC', U: 'not a url', E: 'C' }))).toEqual([
      { variable: 'B', message: 'must be true or false' },
      { variable: 'S', message: 'must be at least 3 characters' },
      { variable: 'P', message: 'must be lowercase letters' },
      { variable: 'U', message: 'must be a URL' },
      { variable: 'E', message: 'must be A or B' },
    ]);
    expect(problemsOf(() => parseEnv(shape, { B: 'toString' }))).toContainEqual({ variable: 'S', message: 'must be set (a name)' });
    expect(problemsOf(() => parseEnv(shape, { B: 'toString', S: 'abc' }))).toEqual([{ variable: 'B', message: 'must be true or false' }]);
  });

  it('checks a rule across variables only when the variables it compares parsed', () => {
    const shape = { LOW: envInt({ min: 0, max: 100, default: 1 }), HIGH: envInt({ min: 0, max: 100, default: 2 }) };
    const checks = [{ variables: ['LOW', 'HIGH'] as const, holds: (c: { LOW: number; HIGH: number }) => c.LOW < c.HIGH, variable: 'HIGH' as const, message: 'must be above LOW' }];

    expect(parseEnv(shape, { LOW: '5', HIGH: '9' }, checks)).toEqual({ LOW: 5, HIGH: 9 });
    expect(problemsOf(() => parseEnv(shape, { LOW: '9', HIGH: '5' }, checks))).toEqual([{ variable: 'HIGH', message: 'must be above LOW' }]);
    // LOW is itself bad: the rule is not checked, so only LOW is named.
    expect(problemsOf(() => parseEnv(shape, { LOW: 'x', HIGH: '5' }, checks))).toEqual([{ variable: 'LOW', message: 'must be an integer' }]);
  });
});

import { DEFAULT_SAFETY_MARGIN_MS, DEFAULT_SHUTDOWN_DRAIN_MS } from './defaults.js';
import { envBool, envEnum, envInt, envText, optional, parseEnv, type Env, type EnvCheck, type EnvValues } from './parseEnv.js';

/** Most connections a pool may hold: db-f1-micro has 25, 3 reserved; see the deploy budget check. */
export const POOL_MAX_CEILING = 3;

/**
 * The runtime settings every function shares. Function-specific settings have their own
 * shape in their own folder. The timeout is written by the deploy manifest (one source of
 * truth) into `FUNCTION_TIMEOUT_SECONDS`, locally and in Google Cloud alike.
 */
export const runtimeEnv = {
  FUNCTION_NAME: envText({ pattern: /^[a-z][a-z0-9-]{0,62}$/, message: 'must be a lowercase function name' }),
  K_SERVICE: envText(),
  K_REVISION: envText(),
  /** The function's configured timeout. @default 60 */
  FUNCTION_TIMEOUT_SECONDS: envInt({ min: 1, max: 3600, default: 60 }),
  /** Time kept back from the platform's timeout to answer and clean up. @default DEFAULT_SAFETY_MARGIN_MS (1000) */
  DEADLINE_SAFETY_MARGIN_MS: envInt({ min: 0, max: 60_000, default: DEFAULT_SAFETY_MARGIN_MS }),
  /** After SIGTERM, how long in-flight invocations may run. @default DEFAULT_SHUTDOWN_DRAIN_MS (6000) */
  SHUTDOWN_DRAIN_MS: envInt({ min: 0, max: 8000, default: DEFAULT_SHUTDOWN_DRAIN_MS }),
  DATABASE_URL: envText({ pattern: /^postgres(ql)?:\/\//, message: 'must be a postgres:// URL' }),
  INSTANCE_CONNECTION_NAME: envText({
    pattern: /^[a-z0-9-]+(:[a-z0-9-]+)?:[a-z0-9-]+:[a-z0-9-]+$/,
    message: 'must look like project:region:instance',
  }),
  DB_USER: envText(),
  DB_PASSWORD: envText(),
  DB_NAME: envText(),
  DB_IP_TYPE: envEnum(['PUBLIC', 'PRIVATE', 'PSC'], { fallback: 'PRIVATE', message: 'must be PUBLIC, PRIVATE or PSC' }),
  DB_IAM_AUTH: envBool(false),
  /** Pool size; may be lowered, never raised above {@link POOL_MAX_CEILING}. @default 3 */
  DB_POOL_MAX: envInt({ min: 1, max: POOL_MAX_CEILING, default: POOL_MAX_CEILING }),
  /** Idle connections are closed after this long, so a quiet instance gives slots back. @default 60000 */
  DB_IDLE_TIMEOUT_MS: envInt({ min: 1000, max: 3_600_000, default: 60_000 }),
  DB_CONNECT_ATTEMPTS: envInt({ min: 1, max: 10, default: 3 }),
  /** How long an API-key lookup is trusted; revocations elsewhere land within it (≤ 60 s). @default 30000 */
  AUTH_CACHE_TTL_MS: envInt({ min: 0, max: 60_000, default: 30_000 }),
  /**
   * API-key lookups that missed the caches allowed at once; the excess answers 503. Keeps
   * a flood of unknown keys from taking the pool from cached tenants.
   * @default 1 when DB_POOL_MAX is 1–2, else DB_POOL_MAX − 1
   */
  AUTH_MAX_CONCURRENT_LOOKUPS: optional(envInt({ min: 1, max: POOL_MAX_CEILING })),
  GOOGLE_CLOUD_PROJECT: envText(),
  /** Default body limit for HTTP functions. @default 1 MiB */
  MAX_BODY_BYTES: envInt({ min: 1024, max: 32 * 1024 * 1024, default: 1024 * 1024 }),
};

type RuntimeValues = EnvValues<typeof runtimeEnv>;

/** The rules across variables, each checked once the variables it compares parsed. */
const runtimeChecks: readonly EnvCheck<RuntimeValues>[] = [
  {
    variables: ['DATABASE_URL', 'INSTANCE_CONNECTION_NAME'],
    holds: (c) => c.DATABASE_URL === undefined || c.INSTANCE_CONNECTION_NAME === undefined,
    variable: 'INSTANCE_CONNECTION_NAME',
    message: 'must not be set together with DATABASE_URL (choose one way to reach PostgreSQL)',
  },
  {
    variables: ['INSTANCE_CONNECTION_NAME', 'DB_USER', 'DB_NAME'],
    holds: (c) => c.INSTANCE_CONNECTION_NAME === undefined || (c.DB_USER !== undefined && c.DB_NAME !== undefined),
    variable: 'DB_USER',
    message: 'must be set with INSTANCE_CONNECTION_NAME (DB_USER and DB_NAME)',
  },
];

export type RuntimeConfig = RuntimeValues & { functionName: string };

/** Parses the shared runtime settings from `env`. */
export function parseRuntimeConfig(env: Env): RuntimeConfig {
  const parsed = parseEnv(runtimeEnv, env, runtimeChecks);
  return { ...parsed, functionName: parsed.FUNCTION_NAME ?? parsed.K_SERVICE ?? 'local' };
}

let cached: RuntimeConfig | undefined;

/**
 * The process's runtime config, parsed once (first call) from `process.env`.
 * Start-up code calls it early so a bad environment fails before the first request.
 */
export function runtimeConfig(env: Env = process.env): RuntimeConfig {
  cached ??= parseRuntimeConfig(env);
  return cached;
}

/** Forgets the parsed config (tests). */
export function resetRuntimeConfig(): void {
  cached = undefined;
}

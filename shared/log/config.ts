import { envEnum, envText, parseEnv, type Env } from '../config/index.js';

const SEVERITIES = ['DEBUG', 'INFO', 'NOTICE', 'WARNING', 'ERROR', 'CRITICAL'] as const;

const logConfigEnv = {
  /**
   * Lowest severity written. An unknown value falls back to INFO instead of failing: the
   * logger is what reports every other configuration error. @default INFO
   */
  LOG_LEVEL: envEnum(SEVERITIES, { fallback: 'INFO', lenient: true }),
  /** Makes trace ids full resource names (`projects/<id>/traces/<trace>`). Set by the platform. */
  GOOGLE_CLOUD_PROJECT: envText(),
  /** The older name of the same variable, read when the first is unset. */
  GCLOUD_PROJECT: envText(),
};

export interface LogConfig {
  level: (typeof SEVERITIES)[number];
  project: string | undefined;
}

/** The logger's settings from `env` (case-insensitive level). Never throws. */
export function parseLogConfig(env: Env = process.env): LogConfig {
  const c = parseEnv(logConfigEnv, { ...env, LOG_LEVEL: env.LOG_LEVEL?.toUpperCase() });
  return { level: c.LOG_LEVEL, project: c.GOOGLE_CLOUD_PROJECT ?? c.GCLOUD_PROJECT };
}

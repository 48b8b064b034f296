import { envInt, parseEnv, type Env, type EnvValues } from '../../shared/config/index.js';

const alertsConfigEnv = {
  /**
   * An alert handed to Pub/Sub this long ago and still never attempted is handed over again
   * by the next evaluation of its org (the outbox sweep: a publish lost with its process).
   * @default 600000 (10 min)
   */
  ALERT_REPUBLISH_AFTER_MS: envInt({ min: 1_000, max: 86_400_000, default: 600_000 }),
};

export type AlertsConfig = EnvValues<typeof alertsConfigEnv>;

/** Parsed at module load, so a bad value stops the function from starting. */
export function parseAlertsConfig(env: Env = process.env): AlertsConfig {
  return parseEnv(alertsConfigEnv, env);
}

import { envInt, parseEnv, type Env, type EnvValues } from '../../shared/config/index.js';
import { DEFAULT_LEAK_IDLE_SECONDS } from '../../shared/db/index.js';
import { parsePipelineConfig, type PipelineConfig } from '../../shared/pipelines/index.js';

const maintenanceConfigEnv = {
  /**
   * A queued run that has not started this long after it was last published is published
   * again (the outbox sweep). Longer than a normal queue wait, so a healthy queue is left
   * alone; shorter than a pass interval times a few, so a lost publish costs minutes.
   * @default 600000 (10 min)
   */
  MAINTENANCE_REPUBLISH_AFTER_MS: envInt({ min: 1_000, max: 86_400_000, default: 600_000 }),
  /** Rows changed per statement (runs reclaimed, keys purged), so no statement runs long. @default 500 */
  MAINTENANCE_BATCH_SIZE: envInt({ min: 1, max: 10_000, default: 500 }),
  /** A backend of this app idle longer than this is leaked and terminated. @default 300 */
  LEAK_IDLE_SECONDS: envInt({ min: 1, max: 86_400, default: DEFAULT_LEAK_IDLE_SECONDS }),
};

export type MaintenanceConfig = EnvValues<typeof maintenanceConfigEnv> & PipelineConfig;

/** Parsed at module load, so a bad value stops the function from starting. */
export function parseMaintenanceConfig(env: Env = process.env): MaintenanceConfig {
  return { ...parseEnv(maintenanceConfigEnv, env), ...parsePipelineConfig(env) };
}

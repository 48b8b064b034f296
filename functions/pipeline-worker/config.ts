import { envInt, parseEnv, type Env, type EnvValues } from '../../shared/config/index.js';
import { parsePipelineConfig, type PipelineConfig } from '../../shared/pipelines/index.js';

const workerConfigEnv = {
  /**
   * Messages published longer ago than this are acked without running; their run fails.
   * @default 86400000 (24 h)
   */
  PIPELINE_MESSAGE_MAX_AGE_MS: envInt({ min: 1_000, max: 7 * 86_400_000, default: 86_400_000 }),
  /**
   * Tries of each provider request inside one attempt (429/5xx/network), within the
   * integration budget. 1 leaves every retry to Pub/Sub's backoff.
   * @default 3
   */
  PROVIDER_REQUEST_ATTEMPTS: envInt({ min: 1, max: 10, default: 3 }),
};

export type WorkerConfig = EnvValues<typeof workerConfigEnv> & PipelineConfig;

/** Parsed at module load, so a bad value stops the function from starting. */
export function parseWorkerConfig(env: Env = process.env): WorkerConfig {
  return { ...parseEnv(workerConfigEnv, env), ...parsePipelineConfig(env) };
}

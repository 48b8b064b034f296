import { envInt, parseEnv, type Env, type EnvValues } from '../config/index.js';

const pipelineConfigEnv = {
  /**
   * Attempts a run gets (claims by a worker) before a transient failure, or a worker that
   * stopped responding, fails it for good. Equal to the subscription's
   * `maxDeliveryAttempts` (the manifest sets both), so the delivery that fails the run is
   * the one Pub/Sub forwards to the dead-letter topic. Read by the worker and maintenance.
   * @default 5
   */
  PIPELINE_MAX_ATTEMPTS: envInt({ min: 1, max: 100, default: 5 }),
};

export type PipelineConfig = EnvValues<typeof pipelineConfigEnv>;

/** The settings the worker and maintenance share, parsed once per call site at load. */
export function parsePipelineConfig(env: Env = process.env): PipelineConfig {
  return parseEnv(pipelineConfigEnv, env);
}

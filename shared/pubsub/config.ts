import { ConfigError, envInt, envText, parseEnv, type Env } from '../config/index.js';

/** The project the emulator is used with when nothing else names one. */
export const LOCAL_PROJECT_ID = 'local-project';

const pubSubConfigEnv = {
  /**
   * `host:port` of the Pub/Sub emulator (the variable every Google client honours).
   * Set locally and in tests; unset in Google Cloud, where real Pub/Sub is used.
   */
  PUBSUB_EMULATOR_HOST: envText({ pattern: /^[A-Za-z0-9.[\]:-]+:\d{1,5}$/, message: 'must be host:port such as 127.0.0.1:8085' }),
  /** Project that holds the topics. @default GOOGLE_CLOUD_PROJECT */
  PUBSUB_PROJECT_ID: envText(),
  GOOGLE_CLOUD_PROJECT: envText(),
  /** Tries per publish when Pub/Sub is unreachable or answers 429/5xx, within the budget. @default 3 */
  PUBSUB_PUBLISH_ATTEMPTS: envInt({ min: 1, max: 5, default: 3 }),
};

export interface PubSubConfig {
  projectId: string;
  /** `host:port` of the emulator, or undefined for real Pub/Sub. */
  emulatorHost: string | undefined;
  publishAttempts: number;
}

/**
 * Parses the Pub/Sub settings. A project is required in Google Cloud (the manifest sets
 * `GOOGLE_CLOUD_PROJECT`); against the emulator it defaults to {@link LOCAL_PROJECT_ID}.
 */
export function parsePubSubConfig(env: Env = process.env): PubSubConfig {
  const c = parseEnv(pubSubConfigEnv, env);
  const projectId = c.PUBSUB_PROJECT_ID ?? c.GOOGLE_CLOUD_PROJECT ?? (c.PUBSUB_EMULATOR_HOST !== undefined ? LOCAL_PROJECT_ID : undefined);
  if (projectId === undefined) {
    throw new ConfigError([{ variable: 'PUBSUB_PROJECT_ID', message: 'must be set (or GOOGLE_CLOUD_PROJECT)' }]);
  }
  return { projectId, emulatorHost: c.PUBSUB_EMULATOR_HOST, publishAttempts: c.PUBSUB_PUBLISH_ATTEMPTS };
}

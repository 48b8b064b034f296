import { envBool, envInt, parseEnv, type Env } from '../config/index.js';
import type { WebhookPolicy } from './webhookUrl.js';

const webhookConfigEnv = {
  /**
   * Allows `http://127.0.0.1[:port]` webhook URLs besides public `https` ones — for the
   * local stack and tests, whose receivers listen on loopback. Never set in Google Cloud:
   * the deploy manifest does not set it, and `check:deploy` refuses it.
   * @default false
   */
  WEBHOOK_ALLOW_LOOPBACK_HTTP: envBool(false),
  /** How long one delivery attempt may take, connection included (API.md: 5 s). @default 5000 */
  WEBHOOK_TIMEOUT_MS: envInt({ min: 100, max: 30_000, default: 5_000 }),
};

export interface WebhookConfig {
  policy: WebhookPolicy;
  timeoutMs: number;
}

/** Parsed at module load, so a bad value stops the function from starting. */
export function parseWebhookConfig(env: Env = process.env): WebhookConfig {
  const parsed = parseEnv(webhookConfigEnv, env);
  return { policy: { allowLoopbackHttp: parsed.WEBHOOK_ALLOW_LOOPBACK_HTTP }, timeoutMs: parsed.WEBHOOK_TIMEOUT_MS };
}

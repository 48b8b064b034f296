import { envInt, parseEnv, type Env, type EnvValues } from '../../shared/config/index.js';
import { parseWebhookConfig, type WebhookConfig } from '../../shared/webhooks/index.js';

const deliveryConfigEnv = {
  /**
   * Delivery attempts of an alert before it is dead-lettered: the deploy manifest sets it to
   * the delivery subscription's `maxDeliveryAttempts`, so the attempt that marks an alert
   * `dead_lettered` is the delivery Pub/Sub forwards to the dead-letter topic.
   * @default 5
   */
  ALERT_MAX_DELIVERY_ATTEMPTS: envInt({ min: 1, max: 100, default: 5 }),
};

export type DeliveryConfig = EnvValues<typeof deliveryConfigEnv> & { webhooks: WebhookConfig };

/** Parsed at module load, so a bad value stops the function from starting. */
export function parseDeliveryConfig(env: Env = process.env): DeliveryConfig {
  return { ...parseEnv(deliveryConfigEnv, env), webhooks: parseWebhookConfig(env) };
}

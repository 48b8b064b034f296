import { signingSecretOf, type AlertDeliveryMessage } from '../../shared/budgets/index.js';
import { getDb } from '../../shared/db/index.js';
import { UnavailableError } from '../../shared/errors/index.js';
import { addLogContext, log } from '../../shared/log/index.js';
import type { MessageContext } from '../../shared/pubsub/index.js';
import { postWebhook, SIGNATURE_HEADER, signatureHeader } from '../../shared/webhooks/index.js';
import type { DeliveryConfig } from './config.js';

/**
 * Handles one `budget-alert-deliveries` message: one attempt to POST the alert to its
 * webhook. The attempt is counted before it is made (a process that dies mid-attempt has
 * still spent it) and recorded after, with the receiver's status or the reason it failed.
 *
 * - returns (ack): delivered (2xx); or nothing to do — the alert was delivered or
 *   dead-lettered already (a duplicate message), or no longer exists (its budget deleted);
 * - throws a retryable error (nack, Pub/Sub retries with backoff): the attempt failed. On the
 *   last attempt the alert is marked `dead_lettered` and the nack makes Pub/Sub forward the
 *   message to the dead-letter topic.
 */
export async function deliverAlert(message: AlertDeliveryMessage, context: MessageContext, config: DeliveryConfig): Promise<void> {
  addLogContext({ org: message.org_slug });
  const db = await getDb();
  const { rows } = await db.query<{ org_id: string; payload: string; webhook_url: string; attempts: number }>(
    `UPDATE budget_alerts SET attempts = attempts + 1, last_attempt_at = now()
      WHERE id = $1 AND status IN ('pending', 'failing')
      RETURNING org_id, payload, webhook_url, attempts`,
    [message.alert_id],
  );
  const alert = rows[0];
  if (alert === undefined) {
    log.info('The alert was delivered or dead-lettered already, or no longer exists; acked', { alert_id: message.alert_id });
    return;
  }
  const attempt = alert.attempts;
  const secret = await signingSecretOf(alert.org_id);
  const outcome = await postWebhook(alert.webhook_url, alert.payload, { [SIGNATURE_HEADER]: signatureHeader(secret, alert.payload) }, {
    policy: config.webhooks.policy,
    timeoutMs: config.webhooks.timeoutMs,
    signal: context.deadline.signal,
  });
  const delivered = outcome.error === undefined;
  const status = delivered ? 'delivered' : attempt >= config.ALERT_MAX_DELIVERY_ATTEMPTS ? 'dead_lettered' : 'failing';
  await db.query(
    `WITH attempt AS (
       INSERT INTO budget_alert_attempts (alert_id, attempt, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (alert_id, attempt) DO NOTHING)
     UPDATE budget_alerts SET status = $6, last_error = $4, delivered_at = CASE WHEN $6 = 'delivered' THEN now() END
      WHERE id = $1 AND status IN ('pending', 'failing')`,
    [message.alert_id, attempt, outcome.statusCode ?? null, outcome.error ?? null, outcome.durationMs, status],
  );
  const fields = { alert_id: message.alert_id, attempt, status_code: outcome.statusCode, duration_ms: outcome.durationMs };
  if (delivered) {
    log.info('Alert delivered', fields);
    return;
  }
  if (status === 'dead_lettered') log.error(`Alert delivery failed for good after ${attempt} attempts; dead-lettered`, undefined, { ...fields, reason: outcome.error });
  else log.warn('Alert delivery attempt failed; Pub/Sub retries it', { ...fields, reason: outcome.error });
  throw new UnavailableError(`Delivery attempt ${attempt} failed: ${outcome.error ?? 'unknown'}`);
}

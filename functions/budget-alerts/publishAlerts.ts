import { ALERT_DELIVERIES_TOPIC } from '../../shared/budgets/index.js';
import type { Db } from '../../shared/db/index.js';
import { UnavailableError } from '../../shared/errors/index.js';
import { log } from '../../shared/log/index.js';
import { getPublisher } from '../../shared/pubsub/index.js';

/**
 * Hands the org's raised, never-attempted alerts to the delivery topic — an outbox: the
 * alert row is the truth, the message only says "deliver it". Each alert is marked before
 * its publish (so two evaluations do not both hand it over) and unmarked when the publish
 * fails (so the retried evaluation does); an alert whose mark is older than
 * `republishAfterMs` and still has no attempt was lost with a process and is handed over
 * again. Throws a retryable `UNAVAILABLE` when any publish failed.
 */
export async function publishPendingAlerts(db: Db, org: { orgId: string; orgSlug: string }, republishAfterMs: number): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE budget_alerts SET published_at = now()
      WHERE org_id = $1 AND status = 'pending' AND attempts = 0
        AND (published_at IS NULL OR published_at < now() - $2::bigint * interval '1 millisecond')
      RETURNING id`,
    [org.orgId, republishAfterMs],
  );
  if (rows.length === 0) return 0;
  const publisher = await getPublisher();
  const failed: string[] = [];
  await Promise.all(
    rows.map(async ({ id }) => {
      try {
        await publisher.publish(ALERT_DELIVERIES_TOPIC, { alert_id: id, org_slug: org.orgSlug }, { org_slug: org.orgSlug, alert_id: id });
      } catch (error) {
        failed.push(id);
        log.warn('Publishing an alert delivery failed; the retried evaluation hands it over', { alert_id: id, reason: (error as Error).message });
      }
    }),
  );
  if (failed.length > 0) {
    await db.query(`UPDATE budget_alerts SET published_at = NULL WHERE id = ANY($1::uuid[]) AND attempts = 0`, [failed]);
    throw new UnavailableError(`${failed.length} of ${rows.length} alert deliveries could not be published`);
  }
  return rows.length;
}

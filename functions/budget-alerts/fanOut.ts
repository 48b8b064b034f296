import { USAGE_UPDATED_TOPIC } from '../../shared/budgets/index.js';
import { getDb } from '../../shared/db/index.js';
import { UnavailableError } from '../../shared/errors/index.js';
import { log } from '../../shared/log/index.js';
import { getPublisher } from '../../shared/pubsub/index.js';

/** Publishes at once, so a pass over many orgs neither floods the publisher nor runs for long. */
const CONCURRENCY = 8;

/**
 * The daily pass (Cloud Scheduler's `{}` on `usage-updated`): one `usage-updated` message
 * per active org with a budget, so each org is evaluated — and retried — on its own, as
 * after a run. Throws a retryable `UNAVAILABLE` when any publish failed (the tick is
 * redelivered; an org evaluated twice raises nothing twice).
 */
export async function fanOutDailyPass(): Promise<number> {
  const db = await getDb();
  const { rows } = await db.query<{ org_slug: string }>(
    `SELECT o.org_slug FROM orgs o WHERE o.status = 'active' AND EXISTS (SELECT 1 FROM budgets b WHERE b.org_id = o.id) ORDER BY o.org_slug`,
  );
  const publisher = await getPublisher();
  let failed = 0;
  for (let i = 0; i < rows.length; i += CONCURRENCY) {
    await Promise.all(
      rows.slice(i, i + CONCURRENCY).map(async ({ org_slug }) => {
        try {
          await publisher.publish(USAGE_UPDATED_TOPIC, { org_slug, reason: 'scheduled' }, { org_slug });
        } catch (error) {
          failed += 1;
          log.warn('Publishing an org\'s scheduled evaluation failed', { org_slug, reason: (error as Error).message });
        }
      }),
    );
  }
  if (failed > 0) throw new UnavailableError(`${failed} of ${rows.length} scheduled evaluations could not be published`);
  log.info('Scheduled budget evaluations published', { orgs: rows.length });
  return rows.length;
}

import { log } from '../log/index.js';
import { getPublisher } from '../pubsub/index.js';
import { USAGE_UPDATED_TOPIC } from './messages.js';

/**
 * Tells the budget evaluator an org's spend changed (the worker, after a run that loaded
 * rows). Best effort: the run has succeeded whatever happens here, and the daily scheduled
 * pass evaluates every org anyway — so a failure is logged, never thrown.
 */
export async function publishUsageUpdated(orgSlug: string, dates: string[], runId: string): Promise<void> {
  try {
    const publisher = await getPublisher();
    await publisher.publish(USAGE_UPDATED_TOPIC, { org_slug: orgSlug, dates, run_id: runId }, { org_slug: orgSlug });
  } catch (error) {
    log.error('Publishing usage-updated failed; the daily budget pass evaluates the org instead', error, { org_slug: orgSlug });
  }
}

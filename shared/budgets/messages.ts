import * as z from 'zod';
import { isoDate } from '../pipelines/index.js';

/** Published after a pipeline run changed an org's data (and, with no org, by the daily scheduler tick). */
export const USAGE_UPDATED_TOPIC = 'usage-updated';
/** Where an evaluation that keeps failing ends up. */
export const USAGE_UPDATED_DEAD_LETTER_TOPIC = 'usage-updated-dead';
/** One message per raised alert to deliver: its own topic, so delivery has its own retry and dead-letter policy. */
export const ALERT_DELIVERIES_TOPIC = 'budget-alert-deliveries';
/** Where an alert lands after its last failed delivery attempt. */
export const ALERT_DELIVERIES_DEAD_LETTER_TOPIC = 'budget-alert-deliveries-dead';

const orgSlug = z.string().regex(/^[a-z][a-z0-9_]{2,39}$/);

/**
 * `usage-updated` (API.md): `{org_slug, dates, run_id}` from the worker after a run that
 * loaded data; `{}` (any object without `org_slug`) from Cloud Scheduler once a day, which
 * fans out to every org with budgets.
 */
export const usageUpdatedMessage = z.looseObject({
  org_slug: orgSlug.optional(),
  dates: z.array(isoDate).max(366).optional(),
  run_id: z.uuid().optional(),
});
export type UsageUpdatedMessage = z.infer<typeof usageUpdatedMessage>;

/** `budget-alert-deliveries`: which alert to deliver; everything else is read from PostgreSQL. */
export const alertDeliveryMessage = z.strictObject({ alert_id: z.uuid(), org_slug: orgSlug });
export type AlertDeliveryMessage = z.infer<typeof alertDeliveryMessage>;

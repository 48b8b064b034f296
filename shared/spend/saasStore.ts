import { getDb } from '../db/index.js';
import type { AccruingSubscription } from './saasAccrual.js';

/**
 * The org's subscriptions that accrue anything in [from, to]: started by `to`, not ended
 * before `from`. A cancelled subscription ends at its `end_date`, or — when it has none —
 * on the day it was cancelled (its last change). Prices as exact text, dates as day numbers.
 */
export async function loadAccruingSubscriptions(orgId: string, from: string, to: string): Promise<AccruingSubscription[]> {
  const db = await getDb();
  const { rows } = await db.query<AccruingSubscription>(
    `SELECT vendor, plan_name, seats, unit_price_usd::text AS unit_price_usd, billing_cycle,
            (start_date - DATE '1970-01-01') AS start_day,
            (coalesce(end_date, CASE WHEN status = 'cancelled' THEN (updated_at AT TIME ZONE 'UTC')::date END) - DATE '1970-01-01') AS end_day
       FROM subscriptions
      WHERE org_id = $1 AND start_date <= $3::date
        AND coalesce(end_date, CASE WHEN status = 'cancelled' THEN (updated_at AT TIME ZONE 'UTC')::date END, $3::date) >= $2::date`,
    [orgId, from, to],
  );
  return rows;
}

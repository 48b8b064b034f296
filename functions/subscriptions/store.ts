import { getDb } from '../../shared/db/index.js';
import type { DbClient, SqlParam } from '../../shared/db/index.js';
import type { SubscriptionFields } from './schema.js';

/** A subscription as the API shows it. */
export interface Subscription extends SubscriptionFields {
  id: string;
}

/**
 * Dates as `YYYY-MM-DD` text (the driver would turn `date` into a local-midnight `Date`),
 * the price as a JSON number (`numeric(20,4)` read as `float8`).
 */
const COLUMNS = `id, vendor, plan_name, seats, unit_price_usd::float8 AS unit_price_usd, billing_cycle,
       to_char(start_date, 'YYYY-MM-DD') AS start_date, to_char(end_date, 'YYYY-MM-DD') AS end_date, status`;

function toSubscription(row: Subscription): Subscription {
  return {
    id: row.id,
    vendor: row.vendor,
    plan_name: row.plan_name,
    seats: row.seats,
    unit_price_usd: row.unit_price_usd,
    billing_cycle: row.billing_cycle,
    start_date: row.start_date,
    end_date: row.end_date,
    status: row.status,
  };
}

/**
 * Up to `take` subscriptions after `afterId`, in `id` order (the `(org_id, id)` and
 * `(org_id, status, id)` indexes); `keysetPage` (shared/http) makes the page and cursor.
 */
export async function listSubscriptions(
  orgId: string,
  { status, afterId, take }: { status: string | undefined; afterId: string | undefined; take: number },
): Promise<Subscription[]> {
  const params: SqlParam[] = [orgId];
  const where = ['org_id = $1'];
  if (status !== undefined) {
    params.push(status);
    where.push(`status = $${params.length}`);
  }
  if (afterId !== undefined) {
    params.push(afterId);
    where.push(`id > $${params.length}`);
  }
  params.push(take);
  const db = await getDb();
  const { rows } = await db.query<Subscription>(
    `SELECT ${COLUMNS} FROM subscriptions WHERE ${where.join(' AND ')} ORDER BY id LIMIT $${params.length}`,
    params,
  );
  return rows.map(toSubscription);
}

/** One subscription of the org; undefined for an unknown id or another org's. */
export async function getSubscription(orgId: string, id: string): Promise<Subscription | undefined> {
  const db = await getDb();
  const { rows } = await db.query<Subscription>(`SELECT ${COLUMNS} FROM subscriptions WHERE org_id = $1 AND id = $2`, [orgId, id]);
  const row = rows[0];
  return row === undefined ? undefined : toSubscription(row);
}

/** Creates one subscription; returns it as stored (price rounded to the column's scale). */
export async function insertSubscription(orgId: string, s: SubscriptionFields): Promise<Subscription> {
  const db = await getDb();
  const { rows } = await db.query<Subscription>(
    `INSERT INTO subscriptions (org_id, vendor, plan_name, seats, unit_price_usd, billing_cycle, start_date, end_date, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     RETURNING ${COLUMNS}`,
    [orgId, s.vendor, s.plan_name, s.seats, s.unit_price_usd, s.billing_cycle, s.start_date, s.end_date, s.status],
  );
  return toSubscription(rows[0] as Subscription);
}

/** Locks and reads one row inside the caller's transaction (for a read-merge-write patch). */
export async function lockSubscription(client: DbClient, orgId: string, id: string): Promise<Subscription | undefined> {
  const { rows } = await client.query<Subscription>(
    `SELECT ${COLUMNS} FROM subscriptions WHERE org_id = $1 AND id = $2 FOR UPDATE`,
    [orgId, id],
  );
  const row = rows[0];
  return row === undefined ? undefined : toSubscription(row);
}

/** Writes a complete (merged) row in the caller's transaction; the row must exist and be locked. */
export async function updateSubscription(client: DbClient, orgId: string, id: string, s: SubscriptionFields): Promise<Subscription> {
  const { rows } = await client.query<Subscription>(
    `UPDATE subscriptions
        SET vendor = $3, plan_name = $4, seats = $5, unit_price_usd = $6, billing_cycle = $7,
            start_date = $8, end_date = $9, status = $10, updated_at = now()
      WHERE org_id = $1 AND id = $2
      RETURNING ${COLUMNS}`,
    [orgId, id, s.vendor, s.plan_name, s.seats, s.unit_price_usd, s.billing_cycle, s.start_date, s.end_date, s.status],
  );
  return toSubscription(rows[0] as Subscription);
}

/** Deletes one subscription of the org; false when the org has no such id. */
export async function deleteSubscription(orgId: string, id: string): Promise<boolean> {
  const db = await getDb();
  const { rowCount } = await db.query(`DELETE FROM subscriptions WHERE org_id = $1 AND id = $2`, [orgId, id]);
  return (rowCount ?? 0) > 0;
}

/**
 * Rows per INSERT statement in a bulk import. One statement per chunk, its columns passed
 * as arrays and expanded by `unnest`: eight bind parameters whatever the chunk size, so the
 * 65,535-parameter limit never applies and 5,000 items take one round trip.
 */
const BULK_CHUNK = 5000;

/**
 * Inserts every item in the caller's transaction (all or nothing is the caller's
 * transaction's job); returns how many rows were written.
 */
export async function insertSubscriptions(client: DbClient, orgId: string, items: readonly SubscriptionFields[]): Promise<number> {
  let created = 0;
  for (let start = 0; start < items.length; start += BULK_CHUNK) {
    const chunk = items.slice(start, start + BULK_CHUNK);
    const { rowCount } = await client.query(
      `INSERT INTO subscriptions (org_id, vendor, plan_name, seats, unit_price_usd, billing_cycle, start_date, end_date, status)
       SELECT $1, v.vendor, v.plan_name, v.seats, v.unit_price_usd, v.billing_cycle, v.start_date, v.end_date, v.status
         FROM unnest($2::text[], $3::text[], $4::int[], $5::numeric[], $6::text[], $7::date[], $8::date[], $9::text[])
           AS v(vendor, plan_name, seats, unit_price_usd, billing_cycle, start_date, end_date, status)`,
      [
        orgId,
        chunk.map((s) => s.vendor),
        chunk.map((s) => s.plan_name),
        chunk.map((s) => s.seats),
        chunk.map((s) => s.unit_price_usd),
        chunk.map((s) => s.billing_cycle),
        chunk.map((s) => s.start_date),
        chunk.map((s) => s.end_date),
        chunk.map((s) => s.status),
      ],
    );
    created += rowCount ?? 0;
  }
  return created;
}

import type { z } from 'zod';
import type { SqlParam } from '../../shared/db/index.js';
import { getDb } from '../../shared/db/index.js';
import { parseUsd, usdForApi } from '../../shared/money/index.js';
import type { runView } from './schema.js';

/** A run as the API shows it (API.md). */
export type RunView = z.output<typeof runView>;

/**
 * Timestamps as RFC 3339 UTC text with milliseconds; money as exact `numeric` text, made a
 * JSON number once, rounded half-even to 6 places, by {@link toView}.
 */
const RUN_COLUMNS = `id AS run_id, pipeline_id, to_char(run_date, 'YYYY-MM-DD') AS date, status, attempts,
       rows_loaded::float8 AS rows_loaded, cost_usd::text AS cost_usd, unpriced_rows, error,
       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
       to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS started_at,
       to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS finished_at`;

/** True when the org has a stored credential for `provider`. */
export async function hasIntegration(orgId: string, provider: string): Promise<boolean> {
  const db = await getDb();
  const { rows } = await db.query('SELECT 1 FROM integrations WHERE org_id = $1 AND provider = $2', [orgId, provider]);
  return rows.length > 0;
}

/** One run of the org; undefined for an unknown id or another org's. */
export async function getRun(orgId: string, runId: string): Promise<RunView | undefined> {
  const db = await getDb();
  const { rows } = await db.query<StoredRun>(`SELECT ${RUN_COLUMNS} FROM pipeline_runs WHERE org_id = $1 AND id = $2`, [orgId, runId]);
  return rows[0] === undefined ? undefined : toView(rows[0]);
}

/** A run as read: its cost still the exact `numeric` text. */
type StoredRun = Omit<RunView, 'cost_usd'> & { cost_usd: string };

function toView<R extends StoredRun>(row: R): Omit<R, 'cost_usd'> & { cost_usd: number } {
  return { ...row, cost_usd: usdForApi(parseUsd(row.cost_usd)) };
}

/** A run with its list sort key: creation time in microseconds since the epoch, as text. */
export type RunRow = RunView & { created_micros: string };

/**
 * Up to `take` runs, newest first, strictly after `after` — keyset paging on the
 * `(org_id, created_at DESC, id DESC)` index, so runs created while a client pages never
 * shift one onto a second page.
 */
export async function listRuns(
  orgId: string,
  { status, pipelineId, after, take }: { status: string | undefined; pipelineId: string | undefined; after: { createdMicros: string; id: string } | undefined; take: number },
): Promise<RunRow[]> {
  const params: SqlParam[] = [orgId];
  const where = ['org_id = $1'];
  if (status !== undefined) {
    params.push(status);
    where.push(`status = $${params.length}`);
  }
  if (pipelineId !== undefined) {
    params.push(pipelineId);
    where.push(`pipeline_id = $${params.length}`);
  }
  if (after !== undefined) {
    params.push(after.createdMicros, after.id);
    where.push(`(created_at, id) < (timestamptz 'epoch' + $${params.length - 1}::bigint * interval '1 microsecond', $${params.length}::uuid)`);
  }
  params.push(take);
  const db = await getDb();
  const { rows } = await db.query<StoredRun & { created_micros: string }>(
    `SELECT ${RUN_COLUMNS}, (extract(epoch FROM created_at) * 1e6)::bigint::text AS created_micros
       FROM pipeline_runs WHERE ${where.join(' AND ')}
      ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map(toView);
}

import type { Queryable } from '../db/index.js';
import type { PipelineRunMessage } from './message.js';
import { leaseIsLive } from './runLease.js';

/**
 * The `published_at` of a run waiting for a slot: not a time it was published, and older
 * than any (so maintenance's sweep sees it as due, once the org has a free slot). Not NULL,
 * which means "its trigger has not marked it yet": a trigger marking its run after the
 * worker set it aside must not make it look published.
 */
const WAITING = `'-infinity'::timestamptz`;

/**
 * Sets a run aside until one of its org's slots frees up: the delivery that found the org
 * at its limit is acked instead of retried (each retry would spend one of the
 * subscription's few delivery attempts, and the fifth would dead-letter a healthy run),
 * and the run waits, `queued`, for {@link takeNextWaitingRun}.
 */
export async function deferRun(db: Queryable, runId: string): Promise<void> {
  await db.query(`UPDATE pipeline_runs SET published_at = ${WAITING}, updated_at = now() WHERE id = $1 AND status = 'queued'`, [runId]);
}

/**
 * The org's oldest run waiting for a slot ({@link deferRun}), marked published in the
 * same statement — so of two workers freeing slots at once each takes a different run —
 * when the org has a free slot; undefined otherwise. The caller publishes it (a publish
 * that fails leaves it to maintenance's outbox sweep).
 */
export async function takeNextWaitingRun(db: Queryable, orgId: string): Promise<PipelineRunMessage | undefined> {
  const { rows } = await db.query<PipelineRunMessage>(
    `WITH slots AS (
       SELECT p.concurrent_pipelines - (SELECT count(*) FROM pipeline_runs WHERE org_id = $1 AND ${leaseIsLive()}) AS free
         FROM orgs o JOIN plan_limits p ON p.plan = o.plan WHERE o.id = $1),
     next AS (
       SELECT r.id FROM pipeline_runs r, slots
        WHERE r.org_id = $1 AND r.status = 'queued' AND r.published_at = ${WAITING} AND slots.free > 0
        ORDER BY r.created_at, r.id LIMIT 1
          FOR UPDATE OF r SKIP LOCKED)
     UPDATE pipeline_runs r SET published_at = now(), updated_at = now()
       FROM next, orgs o
      WHERE r.id = next.id AND o.id = r.org_id
      RETURNING r.id::text AS run_id, o.org_slug, r.pipeline_id, to_char(r.run_date, 'YYYY-MM-DD') AS date`,
    [orgId],
  );
  return rows[0];
}

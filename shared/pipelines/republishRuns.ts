import type { DbClient } from '../db/index.js';
import type { HistoryRow } from './appendRunHistory.js';
import { CLEAR_LEASE, leaseIsLive } from './runLease.js';

/** A run to hand to the topic again. */
export interface RunToPublish {
  id: string;
  org_slug: string;
  pipeline_id: string;
  run_date: string;
}

/**
 * Runs whose lease expired (their worker died: a lease ends at its worker's deadline) go
 * back to `queued`, which frees their concurrency slot, to be re-published; those that
 * already used every attempt fail for good (returned as history rows).
 */
export async function requeueExpiredRuns(client: DbClient, { maxAttempts, limit }: { maxAttempts: number; limit: number }): Promise<{ requeued: RunToPublish[]; failed: HistoryRow[] }> {
  const { rows } = await client.query<RunToPublish & { status: string; attempts: number; error: string; created_at: string; started_at: string | null; finished_at: string | null }>(
    `WITH expired AS (
       SELECT id FROM pipeline_runs
        WHERE status = 'running' AND lease_expires_at <= now()
        ORDER BY lease_expires_at LIMIT $2
          FOR UPDATE SKIP LOCKED)
     UPDATE pipeline_runs r
        SET status = CASE WHEN r.attempts >= $1 THEN 'failed' ELSE 'queued' END,
            error = CASE WHEN r.attempts >= $1 THEN 'The worker stopped responding (gave up after ' || r.attempts || ' attempts)'
                         ELSE 'The worker stopped responding; the run was queued again' END,
            finished_at = CASE WHEN r.attempts >= $1 THEN now() END,
            ${CLEAR_LEASE}, updated_at = now()
       FROM expired, orgs o
      WHERE r.id = expired.id AND o.id = r.org_id
      RETURNING r.id, o.org_slug, r.pipeline_id, to_char(r.run_date, 'YYYY-MM-DD') AS run_date, r.status, r.attempts, r.error,
                r.created_at::text, r.started_at::text, r.finished_at::text`,
    [maxAttempts, limit],
  );
  return {
    requeued: rows.filter((r) => r.status === 'queued').map(({ id, org_slug, pipeline_id, run_date }) => ({ id, org_slug, pipeline_id, run_date })),
    failed: rows
      .filter((r) => r.status === 'failed')
      .map((r) => ({
        runId: r.id,
        orgSlug: r.org_slug,
        pipelineId: r.pipeline_id,
        date: r.run_date,
        attempt: r.attempts,
        status: 'failed' as const,
        rowsLoaded: 0,
        costUsd: '0',
        unpricedRows: 0,
        error: r.error,
        createdAt: r.created_at,
        startedAt: r.started_at,
        finishedAt: r.finished_at ?? new Date().toISOString(),
      })),
  };
}

/**
 * The outbox sweep: queued runs not handed to the topic for a while — never published
 * (the trigger died between its commit and its publish, or the publish and its rollback
 * both failed), published but never started (the message was lost or dead-lettered), or
 * waiting for a slot whose hand-off was lost. Only as many per org as the org has free
 * slots, oldest first: a 500-run backfill of an org that runs one at a time is one message
 * per pass, not 500 deliveries that would each find the org busy.
 */
export async function staleQueuedRuns(client: DbClient, { olderThanMs, limit, exclude }: { olderThanMs: number; limit: number; exclude: readonly string[] }): Promise<RunToPublish[]> {
  const { rows } = await client.query<RunToPublish>(
    `WITH live AS (SELECT org_id, count(*)::int AS n FROM pipeline_runs WHERE ${leaseIsLive()} GROUP BY org_id),
     candidates AS (
       SELECT r.id, r.org_id, r.pipeline_id, r.run_date, r.created_at,
              row_number() OVER (PARTITION BY r.org_id ORDER BY r.created_at, r.id) AS place,
              p.concurrent_pipelines - coalesce(live.n, 0) AS free
         FROM pipeline_runs r
         JOIN orgs o ON o.id = r.org_id
         JOIN plan_limits p ON p.plan = o.plan
         LEFT JOIN live ON live.org_id = r.org_id
        WHERE r.status = 'queued' AND coalesce(r.published_at, r.created_at) < now() - make_interval(secs => $1::float8 / 1000)
          AND r.id <> ALL($3::uuid[]))
     SELECT c.id, o.org_slug, c.pipeline_id, to_char(c.run_date, 'YYYY-MM-DD') AS run_date
       FROM candidates c JOIN orgs o ON o.id = c.org_id
      WHERE c.place <= c.free
      ORDER BY c.created_at LIMIT $2`,
    [olderThanMs, limit, [...exclude]],
  );
  return rows;
}

/**
 * Marks a run published now, ahead of its publish; returns the mark it had, for
 * {@link unmarkRepublished} should the publish fail.
 */
export async function markRepublished(client: DbClient, runId: string): Promise<Date | null> {
  const { rows } = await client.query<{ before: Date | null }>(
    `UPDATE pipeline_runs r SET published_at = now() FROM (SELECT published_at FROM pipeline_runs WHERE id = $1 FOR UPDATE) old
      WHERE r.id = $1 RETURNING old.published_at AS before`,
    [runId],
  );
  return rows[0]?.before ?? null;
}

/** Takes back the mark of a publish that failed. */
export async function unmarkRepublished(client: DbClient, runId: string, before: Date | null): Promise<void> {
  await client.query('UPDATE pipeline_runs SET published_at = $2 WHERE id = $1', [runId, before]);
}

import type { Db, DbClient } from '../db/index.js';
import type { PipelineRunMessage } from './message.js';
import { CLEAR_LEASE, leaseIsLive } from './runLease.js';

/** What a delivery found when it tried to claim its run. */
export type Claim =
  | { kind: 'claimed'; orgId: string; token: string; attempt: number; createdAt: string; startedAt: string }
  /** No such run (e.g. withdrawn after a failed publish), or it does not match the message. */
  | { kind: 'missing' }
  /** Finished (succeeded or failed for good): a duplicate or late redelivery. */
  | { kind: 'finished'; status: string }
  /**
   * Held by a worker whose lease is still live. `sameMessage`: the lease is held by an
   * earlier delivery of this very message — which therefore never answered (its worker
   * died or timed out), so this delivery must take the run over once the lease has
   * expired, `leaseLeftMs` from now.
   */
  | { kind: 'leased'; sameMessage: boolean; leaseLeftMs: number }
  /** The org already runs as many pipelines as its plan allows. */
  | { kind: 'org-busy'; limit: number };

/**
 * Claims a run for this delivery, in one transaction:
 *
 * 1. the org's row is locked (`FOR NO KEY UPDATE`), so claims of one org are serialised:
 *    the count of running pipelines below cannot change under us — the plan's concurrency
 *    limit holds under any interleaving of deliveries, on any number of instances;
 * 2. the run's row is locked and checked: finished → a duplicate; `running` with a live
 *    lease → another worker holds it; `queued`, or `running` with an expired lease (its
 *    worker is gone: a lease ends at that worker's own deadline) → ours to take;
 * 3. the org's other live leases are counted against the plan's limit;
 * 4. the run becomes `running` under a new lease token, expiring at our deadline, and its
 *    attempt is counted.
 */
export async function claimRun(db: Db, message: PipelineRunMessage, leaseMs: number, messageId?: string): Promise<Claim> {
  return db.withTransaction(async (client) => {
    const org = await client.query<{ id: string; concurrent: number }>(
      `SELECT o.id, p.concurrent_pipelines AS concurrent
         FROM orgs o JOIN plan_limits p ON p.plan = o.plan
        WHERE o.org_slug = $1
          FOR NO KEY UPDATE OF o`,
      [message.org_slug],
    );
    const orgRow = org.rows[0];
    if (orgRow === undefined) return { kind: 'missing' };
    // A lease is live while time is left of it (none when there is no lease).
    const run = await client.query<{ status: string; lease_message_id: string | null; lease_left_ms: number }>(
      `SELECT status, lease_message_id,
              coalesce(greatest(0, extract(epoch FROM lease_expires_at - now()) * 1000), 0)::float8 AS lease_left_ms
         FROM pipeline_runs
        WHERE id = $1 AND org_id = $2 AND pipeline_id = $3 AND run_date = $4::date
          FOR UPDATE`,
      [message.run_id, orgRow.id, message.pipeline_id, message.date],
    );
    const runRow = run.rows[0];
    if (runRow === undefined) return { kind: 'missing' };
    if (runRow.status === 'succeeded' || runRow.status === 'failed') return { kind: 'finished', status: runRow.status };
    if (runRow.status === 'running' && runRow.lease_left_ms > 0) {
      return { kind: 'leased', sameMessage: messageId !== undefined && runRow.lease_message_id === messageId, leaseLeftMs: Math.ceil(runRow.lease_left_ms) };
    }
    const running = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pipeline_runs
        WHERE org_id = $1 AND ${leaseIsLive()} AND id <> $2`,
      [orgRow.id, message.run_id],
    );
    if ((running.rows[0]?.n ?? 0) >= orgRow.concurrent) return { kind: 'org-busy', limit: orgRow.concurrent };
    const claimed = await client.query<{ token: string; attempts: number; created_at: string; started_at: string }>(
      `UPDATE pipeline_runs
          SET status = 'running', attempts = attempts + 1, lease_token = gen_random_uuid(),
              lease_expires_at = now() + make_interval(secs => $2::float8 / 1000), lease_message_id = $3,
              started_at = coalesce(started_at, now()), updated_at = now()
        WHERE id = $1
        RETURNING lease_token AS token, attempts, created_at::text, started_at::text`,
      [message.run_id, leaseMs, messageId ?? null],
    );
    const row = claimed.rows[0];
    if (row === undefined) return { kind: 'missing' };
    return { kind: 'claimed', orgId: orgRow.id, token: row.token, attempt: row.attempts, createdAt: row.created_at, startedAt: row.started_at };
  });
}

/** How a run ended, as recorded. */
export interface RunOutcome {
  status: 'succeeded' | 'failed';
  rowsLoaded: number;
  costUsd: string;
  unpricedRows: number;
  error: string | null;
}

/**
 * Ends the run under our lease. Returns false when the lease was no longer ours (it
 * expired and another delivery took the run over): that worker now owns the outcome.
 */
export async function finishRun(db: Db | DbClient, runId: string, token: string, outcome: RunOutcome): Promise<{ finishedAt: string } | undefined> {
  const { rows } = await db.query<{ finished_at: string }>(
    `UPDATE pipeline_runs
        SET status = $3, rows_loaded = $4, cost_usd = $5::numeric, unpriced_rows = $6, error = $7,
            finished_at = now(), ${CLEAR_LEASE}, updated_at = now()
      WHERE id = $1 AND lease_token = $2
      RETURNING finished_at::text`,
    [runId, token, outcome.status, outcome.rowsLoaded, outcome.costUsd, outcome.unpricedRows, outcome.error],
  );
  return rows[0] === undefined ? undefined : { finishedAt: rows[0].finished_at };
}

/**
 * Gives the run back (`queued`, lease cleared, concurrency slot free) after a failure
 * worth retrying, keeping a safe reason. Pub/Sub redelivers the message.
 */
export async function releaseRun(db: Db, runId: string, token: string, error: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE pipeline_runs SET status = 'queued', ${CLEAR_LEASE}, error = $3, updated_at = now()
      WHERE id = $1 AND lease_token = $2`,
    [runId, token, error],
  );
  return (rowCount ?? 0) > 0;
}

/** A run failed outside a claim, as recorded: what its history row needs. */
export interface FailedRun {
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string;
}

/**
 * Fails a run that was never claimed (its message expired, its pipeline is unknown),
 * unless it already ended or a live lease holds it. Returns the run as failed, or undefined
 * when nothing changed.
 */
export async function failUnclaimedRun(db: Db, message: PipelineRunMessage, error: string): Promise<FailedRun | undefined> {
  const { rows } = await db.query<{ attempts: number; created_at: string; started_at: string | null; finished_at: string }>(
    `UPDATE pipeline_runs r SET status = 'failed', error = $2, finished_at = now(), ${CLEAR_LEASE}, updated_at = now()
       FROM orgs o
      WHERE r.id = $1 AND o.id = r.org_id AND o.org_slug = $3
        AND (r.status = 'queued' OR (r.status = 'running' AND r.lease_expires_at <= now()))
      RETURNING r.attempts, r.created_at::text, r.started_at::text, r.finished_at::text`,
    [message.run_id, error, message.org_slug],
  );
  const row = rows[0];
  return row === undefined ? undefined : { attempts: row.attempts, createdAt: row.created_at, startedAt: row.started_at, finishedAt: row.finished_at };
}

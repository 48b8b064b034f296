import type { DbClient } from '../db/index.js';
import { getDb } from '../db/index.js';

export type QueueOutcome =
  | { kind: 'queued'; runId: string }
  | { kind: 'quota'; dailyLimit: number }
  | { kind: 'active'; runId: string };

/**
 * Queues the run and counts it against today's (UTC) quota, in one transaction, so only a
 * trigger that queues a run uses quota (API.md):
 *
 * - the run first: the partial unique index on active runs (org, pipeline, date) refuses a
 *   second active run whatever the interleaving (a concurrent duplicate waits for the first
 *   to commit, then inserts nothing) — and a refused duplicate has touched no quota;
 * - then the quota row, incremented only while under the plan's daily limit — one
 *   statement, whose row lock serialises the org's concurrent triggers, so they never
 *   exceed it; over the limit, the run just inserted is deleted again before the commit.
 */
export async function queueRun(client: DbClient, orgId: string, pipelineId: string, date: string): Promise<QueueOutcome> {
  // ON CONFLICT DO NOTHING on the partial index: a concurrent trigger of the same pipeline
  // and date that committed first makes this return no row, without an error that would
  // abort the transaction.
  const inserted = await client.query<{ id: string }>(
    `INSERT INTO pipeline_runs (org_id, pipeline_id, run_date, status)
     VALUES ($1, $2, $3, 'queued')
     ON CONFLICT (org_id, pipeline_id, run_date) WHERE status IN ('queued', 'running') DO NOTHING
     RETURNING id`,
    [orgId, pipelineId, date],
  );
  const runId = inserted.rows[0]?.id;
  if (runId === undefined) {
    const active = await client.query<{ id: string }>(
      `SELECT id FROM pipeline_runs WHERE org_id = $1 AND pipeline_id = $2 AND run_date = $3 AND status IN ('queued', 'running')`,
      [orgId, pipelineId, date],
    );
    return { kind: 'active', runId: active.rows[0]?.id ?? '' };
  }
  const counted = await client.query<{ pipelines_run: number; daily: number }>(
    `WITH lim AS (SELECT p.daily_pipeline_runs AS daily FROM orgs o JOIN plan_limits p ON p.plan = o.plan WHERE o.id = $1)
     INSERT INTO usage_quotas AS q (org_id, usage_date, pipelines_run)
     SELECT $1, (now() AT TIME ZONE 'UTC')::date, 1 FROM lim WHERE lim.daily > 0
     ON CONFLICT (org_id, usage_date) DO UPDATE SET pipelines_run = q.pipelines_run + 1
      WHERE q.pipelines_run < (SELECT daily FROM lim)
     RETURNING q.pipelines_run, (SELECT daily FROM lim) AS daily`,
    [orgId],
  );
  if (counted.rows.length > 0) return { kind: 'queued', runId };
  await client.query('DELETE FROM pipeline_runs WHERE id = $1', [runId]);
  const { rows } = await client.query<{ daily: number }>('SELECT p.daily_pipeline_runs AS daily FROM orgs o JOIN plan_limits p ON p.plan = o.plan WHERE o.id = $1', [orgId]);
  return { kind: 'quota', dailyLimit: rows[0]?.daily ?? 0 };
}

/**
 * Takes back a run whose publish failed: the run is deleted (if nothing has started it)
 * and its quota given back, in one transaction. Returns false when the run had already
 * started — a publish that failed on our side may have reached the topic after all.
 */
export async function withdrawRun(orgId: string, runId: string): Promise<boolean> {
  const db = await getDb();
  return db.withTransaction(async (client) => {
    const deleted = await client.query<{ created: string }>(
      `DELETE FROM pipeline_runs WHERE id = $1 AND org_id = $2 AND status = 'queued' AND attempts = 0
       RETURNING to_char((created_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS created`,
      [runId, orgId],
    );
    const created = deleted.rows[0]?.created;
    if (created === undefined) return false;
    await client.query(
      `UPDATE usage_quotas SET pipelines_run = pipelines_run - 1 WHERE org_id = $1 AND usage_date = $2 AND pipelines_run > 0`,
      [orgId, created],
    );
    return true;
  });
}

/**
 * Records that the topic accepted the run (the outbox sweep skips it while young) — unless
 * a worker already had it and set it aside to wait for a slot (`deferRun`): that mark stays.
 */
export async function markPublished(runId: string): Promise<void> {
  const db = await getDb();
  await db.query('UPDATE pipeline_runs SET published_at = now() WHERE id = $1 AND published_at IS NULL', [runId]);
}


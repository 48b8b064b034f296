import type { DbClient } from '../../shared/db/index.js';
import { getDb, terminateLeakedConnections } from '../../shared/db/index.js';
import { DeadlineExceededError } from '../../shared/errors/index.js';
import { log } from '../../shared/log/index.js';
import { publishRun } from '../../shared/pipelines/index.js';
import type { MessageContext } from '../../shared/pubsub/index.js';
import type { MaintenanceConfig } from './config.js';

/**
 * The session advisory lock one pass holds: a second pass (an overlapping tick, a manual
 * run) that cannot take it does nothing. Session-level, on the pass's own connection, so
 * it is released when the pass ends — or when its connection dies with it.
 */
const PASS_LOCK_KEY = 'cloudact:maintenance-pass';

/** What one pass did, logged as one line. */
export interface PassReport {
  ran: boolean;
  leases_reclaimed: number;
  runs_failed: number;
  runs_republished: number;
  publish_failures: number;
  idempotency_keys_purged: number;
  leaked_connections_terminated: number;
}

interface RunToPublish {
  id: string;
  org_slug: string;
  pipeline_id: string;
  run_date: string;
}

/** Stops a step that has no time left; the next pass picks up where this one stopped. */
function ensureTime(context: MessageContext, step: string): void {
  if (context.deadline.remainingMs() < 1_000) throw new DeadlineExceededError(`No time left for ${step}`);
}

/**
 * Runs whose lease expired (their worker died: a lease ends at its worker's deadline) go
 * back to `queued`, which frees their concurrency slot, and are re-published; those that
 * already used every attempt fail for good.
 */
async function reclaimExpiredLeases(client: DbClient, config: MaintenanceConfig): Promise<{ requeued: RunToPublish[]; failed: number }> {
  const { rows } = await client.query<RunToPublish & { status: string }>(
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
            lease_token = NULL, lease_expires_at = NULL, lease_message_id = NULL, updated_at = now()
       FROM expired, orgs o
      WHERE r.id = expired.id AND o.id = r.org_id
      RETURNING r.id, o.org_slug, r.pipeline_id, to_char(r.run_date, 'YYYY-MM-DD') AS run_date, r.status`,
    [config.PIPELINE_MAX_ATTEMPTS, config.MAINTENANCE_BATCH_SIZE],
  );
  return { requeued: rows.filter((r) => r.status === 'queued'), failed: rows.filter((r) => r.status === 'failed').length };
}

/**
 * The outbox sweep: queued runs not handed to the topic for a while — never published
 * (the trigger died between its commit and its publish, or the publish and its rollback
 * both failed), or published but never started (the message was lost or dead-lettered).
 */
async function staleQueuedRuns(client: DbClient, config: MaintenanceConfig): Promise<RunToPublish[]> {
  const { rows } = await client.query<RunToPublish>(
    `SELECT r.id, o.org_slug, r.pipeline_id, to_char(r.run_date, 'YYYY-MM-DD') AS run_date
       FROM pipeline_runs r JOIN orgs o ON o.id = r.org_id
      WHERE r.status = 'queued' AND coalesce(r.published_at, r.created_at) < now() - make_interval(secs => $1::float8 / 1000)
      ORDER BY r.created_at LIMIT $2`,
    [config.MAINTENANCE_REPUBLISH_AFTER_MS, config.MAINTENANCE_BATCH_SIZE],
  );
  return rows;
}

/** Publishes runs again (the worker is idempotent per run, so a duplicate is harmless). */
async function republish(client: DbClient, runs: readonly RunToPublish[], context: MessageContext): Promise<{ published: number; failed: number }> {
  let published = 0;
  let failed = 0;
  for (const run of runs) {
    ensureTime(context, 're-publishing runs');
    try {
      await publishRun({ run_id: run.id, org_slug: run.org_slug, pipeline_id: run.pipeline_id, date: run.run_date }, context.deadline.signal);
      await client.query('UPDATE pipeline_runs SET published_at = now() WHERE id = $1', [run.id]);
      published += 1;
    } catch (error) {
      failed += 1;
      log.error('Re-publishing a run failed; the next pass tries again', error, { run_id: run.id });
    }
  }
  return { published, failed };
}

/** Deletes expired idempotency keys in batches, until none is left or time runs short. */
async function purgeIdempotencyKeys(client: DbClient, config: MaintenanceConfig, context: MessageContext): Promise<number> {
  let purged = 0;
  for (;;) {
    ensureTime(context, 'purging idempotency keys');
    const { rowCount } = await client.query(
      `DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT $1)`,
      [config.MAINTENANCE_BATCH_SIZE],
    );
    purged += rowCount ?? 0;
    if ((rowCount ?? 0) < config.MAINTENANCE_BATCH_SIZE) return purged;
  }
}

/**
 * One maintenance pass, on one connection that holds the pass lock throughout. Each step
 * is bounded by the invocation's deadline (every statement runs under it) and logged with
 * its counts; a pass that finds nothing to do says so.
 */
export async function runMaintenancePass(context: MessageContext, config: MaintenanceConfig): Promise<PassReport> {
  const db = await getDb();
  return db.withClient(
    async (client) => {
      const report: PassReport = {
        ran: false,
        leases_reclaimed: 0,
        runs_failed: 0,
        runs_republished: 0,
        publish_failures: 0,
        idempotency_keys_purged: 0,
        leaked_connections_terminated: 0,
      };
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [PASS_LOCK_KEY]);
      if (rows[0]?.locked !== true) {
        log.info('Another maintenance pass is running; this one does nothing');
        return report;
      }
      report.ran = true;
      try {
        const reclaimed = await reclaimExpiredLeases(client, config);
        report.leases_reclaimed = reclaimed.requeued.length + reclaimed.failed;
        report.runs_failed = reclaimed.failed;
        log.info('Maintenance: expired leases', { reclaimed: reclaimed.requeued.length, failed: reclaimed.failed });

        const reclaimedIds = new Set(reclaimed.requeued.map((r) => r.id));
        const stale = (await staleQueuedRuns(client, config)).filter((r) => !reclaimedIds.has(r.id));
        const toPublish = [...reclaimed.requeued, ...stale];
        const published = await republish(client, toPublish, context);
        report.runs_republished = published.published;
        report.publish_failures = published.failed;
        log.info('Maintenance: runs re-published', { after_lease: reclaimed.requeued.length, outbox: stale.length, ...published });

        report.idempotency_keys_purged = await purgeIdempotencyKeys(client, config, context);
        log.info('Maintenance: idempotency keys purged', { purged: report.idempotency_keys_purged });

        ensureTime(context, 'terminating leaked connections');
        const terminated = await terminateLeakedConnections(client, { idleSeconds: config.LEAK_IDLE_SECONDS });
        report.leaked_connections_terminated = terminated.length;
        log.info('Maintenance: leaked connections', { terminated: terminated.length, idle_seconds: config.LEAK_IDLE_SECONDS });
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [PASS_LOCK_KEY]);
      }
      const acted = report.leases_reclaimed + report.runs_republished + report.publish_failures + report.idempotency_keys_purged + report.leaked_connections_terminated;
      log.info(acted === 0 ? 'Maintenance pass: nothing to do' : 'Maintenance pass done', { ...report });
      return report;
    },
    // Each statement is short and batched; the pass as a whole stays inside the user tier.
    { tier: 'user' },
  );
}

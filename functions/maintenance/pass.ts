import type { DbClient, SessionClient } from '../../shared/db/index.js';
import { getDb, terminateLeakedConnections } from '../../shared/db/index.js';
import { DeadlineExceededError } from '../../shared/errors/index.js';
import { log } from '../../shared/log/index.js';
import {
  markRepublished,
  publishRun,
  recordRunHistory,
  requeueExpiredRuns,
  staleQueuedRuns,
  unmarkRepublished,
  type RunToPublish,
} from '../../shared/pipelines/index.js';
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


/**
 * Time kept back from every step for the end of the pass: releasing the pass lock and
 * logging the report must never be what runs out of time.
 */
const RESERVE_MS = 3_000;

/**
 * The share of the pass's time left when a step starts that the step may use: reclaiming
 * leases, the outbox sweep (publishing is the slow part), purging keys, then leaked
 * connections with whatever is left. A slow Pub/Sub uses up the sweep's share, not the pass.
 */
const STEP_SHARE = { reclaim: 0.2, republish: 0.5, purge: 0.5 } as const;

/** Until when (ms since epoch) a step may start new work: its share of the time left, less the reserve. */
function stepEnd(client: DbClient, context: MessageContext, share: number): number {
  const left = Math.min(client.remainingMs(), context.deadline.remainingMs()) - RESERVE_MS;
  return Date.now() + Math.max(0, left * share);
}

/** Whether a step may start more work: before its end, and with the reserve still ahead. */
function hasTime(client: DbClient, context: MessageContext, until = Number.POSITIVE_INFINITY): boolean {
  return Date.now() < until && Math.min(client.remainingMs(), context.deadline.remainingMs()) >= RESERVE_MS + 500;
}

/** Stops a step that has no time left; the next pass picks up where this one stopped. */
function ensureTime(client: DbClient, context: MessageContext, step: string, until = Number.POSITIVE_INFINITY): void {
  if (!hasTime(client, context, until)) throw new DeadlineExceededError(`No time left for ${step}`);
}

/**
 * Publishes runs again (the worker is idempotent per run, so a duplicate is harmless),
 * each marked published *before* its publish: a pass that runs out of time between the
 * two leaves a run marked and published, never published and unmarked (which the next
 * pass would publish again). A publish that fails takes its mark back.
 */
async function republish(client: DbClient, runs: readonly RunToPublish[], context: MessageContext, until: number): Promise<{ published: number; failed: number }> {
  let published = 0;
  let failed = 0;
  for (const run of runs) {
    if (!hasTime(client, context, until)) {
      log.warn('Maintenance: re-publishing stopped at its time budget; the next pass goes on', { left: runs.length - published - failed });
      break;
    }
    const before = await markRepublished(client, run.id);
    try {
      await publishRun({ run_id: run.id, org_slug: run.org_slug, pipeline_id: run.pipeline_id, date: run.run_date }, AbortSignal.any([context.deadline.signal, AbortSignal.timeout(Math.max(1, Math.ceil(until - Date.now())))]));
      published += 1;
    } catch (error) {
      failed += 1;
      log.error('Re-publishing a run failed; the next pass tries again', error, { run_id: run.id });
      await unmarkRepublished(client, run.id, before).catch((undo: unknown) => {
        log.error('Taking back the published mark of a run failed; the sweep publishes it once the mark is old', undo, { run_id: run.id });
      });
    }
  }
  return { published, failed };
}

/** Deletes expired idempotency keys in batches, until none is left or time runs short. */
async function purgeIdempotencyKeys(client: DbClient, config: MaintenanceConfig, context: MessageContext, until: number): Promise<number> {
  let purged = 0;
  for (;;) {
    if (!hasTime(client, context, until)) return purged;
    const { rowCount } = await client.query(
      `DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT $1)`,
      [config.MAINTENANCE_BATCH_SIZE],
    );
    purged += rowCount ?? 0;
    if ((rowCount ?? 0) < config.MAINTENANCE_BATCH_SIZE) return purged;
  }
}

/**
 * The steps of a pass, each within its share of the time left ({@link STEP_SHARE}); a step
 * that runs out stops, the pass goes on to the next, and the next pass picks up the rest.
 */
async function runSteps(client: SessionClient, config: MaintenanceConfig, context: MessageContext, report: PassReport): Promise<void> {
  const step = async (name: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (error) {
      if (!(error instanceof DeadlineExceededError)) throw error;
      log.warn(`Maintenance: ${name} stopped at its time budget; the next pass goes on`, { code: error.code });
    }
  };
  let requeued: RunToPublish[] = [];
  await step('expired leases', async () => {
    ensureTime(client, context, 'reclaiming expired leases', stepEnd(client, context, STEP_SHARE.reclaim));
    const reclaimed = await requeueExpiredRuns(client, { maxAttempts: config.PIPELINE_MAX_ATTEMPTS, limit: config.MAINTENANCE_BATCH_SIZE });
    requeued = reclaimed.requeued;
    report.leases_reclaimed = reclaimed.requeued.length + reclaimed.failed.length;
    report.runs_failed = reclaimed.failed.length;
    log.info('Maintenance: expired leases', { reclaimed: reclaimed.requeued.length, failed: reclaimed.failed.length });
    // A run failed here ended like any other: the history has it too.
    for (const run of reclaimed.failed) await recordRunHistory(run);
  });
  await step('re-publishing runs', async () => {
    const until = stepEnd(client, context, STEP_SHARE.republish);
    const stale = await staleQueuedRuns(client, {
      olderThanMs: config.MAINTENANCE_REPUBLISH_AFTER_MS,
      limit: config.MAINTENANCE_BATCH_SIZE,
      exclude: requeued.map((r) => r.id),
    });
    const published = await republish(client, [...requeued, ...stale], context, until);
    report.runs_republished = published.published;
    report.publish_failures = published.failed;
    log.info('Maintenance: runs re-published', { after_lease: requeued.length, outbox: stale.length, ...published });
  });
  await step('purging idempotency keys', async () => {
    report.idempotency_keys_purged = await purgeIdempotencyKeys(client, config, context, stepEnd(client, context, STEP_SHARE.purge));
    log.info('Maintenance: idempotency keys purged', { purged: report.idempotency_keys_purged });
  });
  await step('terminating leaked connections', async () => {
    ensureTime(client, context, 'terminating leaked connections');
    const terminated = await terminateLeakedConnections(client, { idleSeconds: config.LEAK_IDLE_SECONDS });
    report.leaked_connections_terminated = terminated.length;
    log.info('Maintenance: leaked connections', { terminated: terminated.length, idle_seconds: config.LEAK_IDLE_SECONDS });
  });
}

/**
 * Releases the pass lock. Should the unlock itself fail (the budget is spent, the server
 * away), the connection is destroyed instead of pooled: a session lock ends with its
 * session, and a pooled connection still holding it would make every later pass idle.
 */
async function releasePassLock(client: SessionClient): Promise<void> {
  try {
    await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [PASS_LOCK_KEY]);
  } catch (error) {
    log.error('Releasing the maintenance lock failed; its connection is closed so the lock ends with it', error);
    client.markBroken(error instanceof Error ? error : new Error(String(error)));
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
        await runSteps(client, config, context, report);
      } finally {
        await releasePassLock(client);
      }
      const acted = report.leases_reclaimed + report.runs_republished + report.publish_failures + report.idempotency_keys_purged + report.leaked_connections_terminated;
      log.info(acted === 0 ? 'Maintenance pass: nothing to do' : 'Maintenance pass done', { ...report });
      return report;
    },
    // Each statement is short and batched; the pass as a whole stays inside the user tier.
    { tier: 'user' },
  );
}

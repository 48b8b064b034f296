import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../db/index.js';
import { budgetMs, now, type Tier } from '../deadline/index.js';
import { UnavailableError } from '../errors/index.js';
import { log } from '../log/index.js';

export interface OrgLoadLockOptions {
  /**
   * The tier of the work done under the lock. The lease lasts its budget (min(tier, time
   * left of the invocation)) plus {@link LEASE_SLACK_MS}, counted from when it is taken:
   * the BigQuery job under it cannot outlive it (its `jobTimeoutMs` is that budget), and a
   * holder that dies frees the org when the lease lapses.
   */
  tier: Tier;
  /** Stops the wait when it aborts: the invocation's deadline, or its cancellation (shutdown). */
  signal: AbortSignal;
  /** Gives up waiting after this long, leaving the rest of the invocation to the work. */
  maxWaitMs: number;
  /** First pause between tries; doubled after each, with jitter. @default 50 */
  pollMs?: number;
  /** @default 1000 */
  maxPollMs?: number;
}

/** Time between taking the lease and the job's start (and a cancel's landing) that the lease covers too. */
export const LEASE_SLACK_MS = 5_000;

/**
 * Runs `work` holding the org's load lock: at most one holder per org across every
 * instance, for as long as `work` runs (released in `finally`) or, if the holder dies, until
 * its lease lapses.
 *
 * Why: BigQuery aborts one of two concurrent multi-statement transactions that modify the
 * same table (the conflict is per table, not per partition), and every load of an org —
 * whatever the pipeline or the date — replaces its rows of `llm_usage_daily` in one. Plans
 * run 3 or 10 of an org's pipelines at once; without the lock they abort each other, each
 * abort costing an attempt and a Pub/Sub backoff. The transaction keeps the data whole
 * either way: the lock is for progress, not for safety.
 *
 * The lease is a row of `org_load_locks`, taken with one statement; no PostgreSQL
 * connection is held while it is (a pool may have a single connection): a waiter polls
 * with short, growing pauses, bounded by `maxWaitMs` and `signal`, and then fails with a
 * retryable `UNAVAILABLE`. A failed release is logged and never masks `work`'s own outcome;
 * the lease then lapses by itself.
 */
export async function withOrgLoadLock<T>(db: Db, orgId: string, options: OrgLoadLockOptions, work: () => Promise<T>): Promise<T> {
  const holder = await acquire(db, orgId, options);
  try {
    return await work();
  } finally {
    try {
      await db.query('DELETE FROM org_load_locks WHERE org_id = $1 AND holder = $2', [orgId, holder]);
    } catch (error) {
      log.error('Releasing the org load lock failed; it lapses at the end of its lease', error, { org_id: orgId });
    }
  }
}

/** Takes the lease, waiting for it within the options' bounds; resolves with the holder id. */
async function acquire(db: Db, orgId: string, { tier, signal, maxWaitMs, pollMs = 50, maxPollMs = 1_000 }: OrgLoadLockOptions): Promise<string> {
  const holder = randomUUID();
  const started = now();
  let pause = pollMs;
  for (let tries = 1; ; tries += 1) {
    if (signal.aborted) throw gaveUp(now() - started, signal.reason);
    if (await tryTake(db, orgId, holder, budgetMs(tier) + LEASE_SLACK_MS)) {
      const waited = Math.round(now() - started);
      if (tries > 1) log.info('Took the org load lock after waiting for another load of the org', { waited_ms: waited, tries });
      return holder;
    }
    const left = maxWaitMs - (now() - started);
    if (left <= 0) throw gaveUp(now() - started);
    try {
      await sleep(Math.min(left, pause / 2 + Math.random() * (pause / 2)), undefined, { signal });
    } catch {
      throw gaveUp(now() - started, signal.reason);
    }
    pause = Math.min(maxPollMs, pause * 2);
  }
}

/** One try: the lease is ours if there was none or the last one lapsed. */
async function tryTake(db: Db, orgId: string, holder: string, leaseMs: number): Promise<boolean> {
  const { rows } = await db.query<{ holder: string }>(
    `INSERT INTO org_load_locks AS l (org_id, holder, expires_at)
     VALUES ($1, $2, now() + make_interval(secs => $3::float8 / 1000))
     ON CONFLICT (org_id) DO UPDATE SET holder = EXCLUDED.holder, acquired_at = now(), expires_at = EXCLUDED.expires_at
      WHERE l.expires_at <= now()
     RETURNING l.holder`,
    [orgId, holder, Math.max(0, Math.round(leaseMs))],
  );
  return rows[0]?.holder === holder;
}

function gaveUp(waitedMs: number, cause?: unknown): UnavailableError {
  return new UnavailableError(`Another load of this org held its BigQuery tables for the ${Math.round(waitedMs)} ms this run could wait; retry later`, {
    retryAfterSeconds: 5,
    cause,
  });
}

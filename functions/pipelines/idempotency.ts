import { createHash } from 'node:crypto';
import type { DbClient } from '../../shared/db/index.js';
import { getDb } from '../../shared/db/index.js';
import { AppError, AlreadyExistsError } from '../../shared/errors/index.js';

/** How long a key replays its first answer (API.md: 24 h). Expired keys are purged by maintenance. */
export const IDEMPOTENCY_TTL_HOURS = 24;

/** What a stored answer looks like. */
export interface StoredAnswer {
  status: number;
  body: unknown;
}

export type Reservation = { kind: 'new' } | { kind: 'replay'; answer: StoredAnswer };

/**
 * A fingerprint of the request *as sent* — its scope and its body, not the values the
 * server derived from them: a retried `{}` sent after midnight UTC is the same request as
 * the first, although its default date is another day.
 */
export function requestHash(scope: string, body: unknown): string {
  return createHash('sha256').update(`${scope}\n${JSON.stringify(body ?? {})}`).digest('base64url');
}

/** The answer a trigger gave when it queued `runId` (API.md: `202 {run_id, status}`). */
export function queuedAnswer(runId: string): StoredAnswer {
  return { status: 202, body: { run_id: runId, status: 'queued' } };
}

/**
 * Reserves `key` for this request, or finds the first answer given for it.
 *
 * An unanswered reservation lasts only as long as its request may run (`holdMs`: the
 * request's deadline plus a margin), not 24 h: a request that died holding it (crash,
 * SIGKILL, a failed write of its answer) does not lock its key out. One statement claims
 * the key, or takes over an expired one; when another request holds it:
 * - another request (scope or body) → 409;
 * - the same request, answered → replay;
 * - the same request, unanswered but its run queued (the answer was lost) → the answer it
 *   would have given, stored now, with no second run and no quota spent;
 * - the same request still running → 409 with `Retry-After` (retry shortly).
 */
export async function reserveKey(orgId: string, key: string, scope: string, hash: string, holdMs: number): Promise<Reservation> {
  const db = await getDb();
  const claimed = await db.query(
    `INSERT INTO idempotency_keys AS k (org_id, key, scope, request_hash, expires_at)
     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::float8 / 1000))
     ON CONFLICT (org_id, key) DO UPDATE
        SET scope = EXCLUDED.scope, request_hash = EXCLUDED.request_hash, status = NULL, response = NULL, run_id = NULL,
            created_at = now(), expires_at = EXCLUDED.expires_at
      WHERE k.expires_at <= now() AND k.run_id IS NULL
     RETURNING 1`,
    [orgId, key, scope, hash, holdMs],
  );
  if (claimed.rows.length > 0) return { kind: 'new' };
  const { rows } = await db.query<{ scope: string; request_hash: string; status: number | null; response: unknown; run_id: string | null; left_ms: number }>(
    `SELECT scope, request_hash, status, response, run_id::text AS run_id,
            (extract(epoch FROM (expires_at - now())) * 1000)::float8 AS left_ms
       FROM idempotency_keys WHERE org_id = $1 AND key = $2`,
    [orgId, key],
  );
  const held = rows[0];
  if (held === undefined) return reserveKey(orgId, key, scope, hash, holdMs); // purged in between
  if (held.scope !== scope || held.request_hash !== hash) {
    throw new AlreadyExistsError('This Idempotency-Key was already used with a different request');
  }
  if (held.status !== null) return { kind: 'replay', answer: { status: held.status, body: held.response } };
  if (held.run_id !== null) {
    // The first request queued its run and never stored its answer: this is that answer.
    const answer = queuedAnswer(held.run_id);
    await completeKey(orgId, key, answer);
    return { kind: 'replay', answer };
  }
  throw new AppError('ALREADY_EXISTS', 'A request with this Idempotency-Key is still being processed; retry shortly', {
    retryAfterSeconds: Math.max(1, Math.ceil(held.left_ms / 1000)),
  });
}

/** Notes the run the request queued, in the transaction that queued it. */
export async function attachRun(client: DbClient, orgId: string, key: string, runId: string): Promise<void> {
  await client.query('UPDATE idempotency_keys SET run_id = $3 WHERE org_id = $1 AND key = $2', [orgId, key, runId]);
}

/** Stores the answer to replay for `key`, for 24 h from now. */
export async function completeKey(orgId: string, key: string, answer: StoredAnswer): Promise<void> {
  const db = await getDb();
  await db.query(
    `UPDATE idempotency_keys SET status = $3, response = $4, expires_at = now() + make_interval(hours => $5)
      WHERE org_id = $1 AND key = $2`,
    [orgId, key, answer.status, JSON.stringify(answer.body ?? null), IDEMPOTENCY_TTL_HOURS],
  );
}

/**
 * Frees `key` after a failure worth retrying (5xx), unless the request's run exists after
 * all (its publish failed and taking it back did too: maintenance publishes it): then the
 * key keeps the run, and a retry gets the run's `202` instead of queueing another.
 */
export async function releaseKey(orgId: string, key: string): Promise<void> {
  const db = await getDb();
  await db.query(
    `DELETE FROM idempotency_keys k
      WHERE k.org_id = $1 AND k.key = $2 AND k.status IS NULL
        AND (k.run_id IS NULL OR NOT EXISTS (SELECT 1 FROM pipeline_runs r WHERE r.id = k.run_id))`,
    [orgId, key],
  );
}

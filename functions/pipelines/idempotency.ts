import { createHash } from 'node:crypto';
import { getDb } from '../../shared/db/index.js';
import { AlreadyExistsError } from '../../shared/errors/index.js';

/** How long a key replays its first answer (API.md: 24 h). Expired keys are purged by maintenance. */
export const IDEMPOTENCY_TTL_HOURS = 24;

/** What a stored answer looks like. */
export interface StoredAnswer {
  status: number;
  body: unknown;
}

export type Reservation = { kind: 'new' } | { kind: 'replay'; answer: StoredAnswer };

/** A fingerprint of what the request asks for: the same key with another request is a conflict. */
export function requestHash(scope: string, body: unknown): string {
  return createHash('sha256').update(`${scope}\n${JSON.stringify(body ?? null)}`).digest('base64url');
}

/**
 * Reserves `key` for this request, or finds the first answer given for it.
 *
 * One statement claims the key (or takes over an expired one); when another request holds
 * it, that request's fingerprint and answer decide: same request and answered → replay;
 * same request still running → 409 (retry later); another request → 409.
 */
export async function reserveKey(orgId: string, key: string, scope: string, hash: string): Promise<Reservation> {
  const db = await getDb();
  const claimed = await db.query(
    `INSERT INTO idempotency_keys AS k (org_id, key, scope, request_hash, expires_at)
     VALUES ($1, $2, $3, $4, now() + make_interval(hours => $5))
     ON CONFLICT (org_id, key) DO UPDATE
        SET scope = EXCLUDED.scope, request_hash = EXCLUDED.request_hash, status = NULL, response = NULL,
            created_at = now(), expires_at = EXCLUDED.expires_at
      WHERE k.expires_at <= now()
     RETURNING 1`,
    [orgId, key, scope, hash, IDEMPOTENCY_TTL_HOURS],
  );
  if (claimed.rows.length > 0) return { kind: 'new' };
  const { rows } = await db.query<{ scope: string; request_hash: string; status: number | null; response: unknown }>(
    'SELECT scope, request_hash, status, response FROM idempotency_keys WHERE org_id = $1 AND key = $2',
    [orgId, key],
  );
  const held = rows[0];
  if (held === undefined) return reserveKey(orgId, key, scope, hash); // purged in between
  if (held.scope !== scope || held.request_hash !== hash) {
    throw new AlreadyExistsError('This Idempotency-Key was already used with a different request');
  }
  if (held.status === null) throw new AlreadyExistsError('A request with this Idempotency-Key is still being processed; retry shortly');
  return { kind: 'replay', answer: { status: held.status, body: held.response } };
}

/** Stores the answer to replay for `key`. */
export async function completeKey(orgId: string, key: string, answer: StoredAnswer): Promise<void> {
  const db = await getDb();
  await db.query('UPDATE idempotency_keys SET status = $3, response = $4 WHERE org_id = $1 AND key = $2', [orgId, key, answer.status, JSON.stringify(answer.body ?? null)]);
}

/** Frees `key` after a failure worth retrying (5xx): the next request with it runs afresh. */
export async function releaseKey(orgId: string, key: string): Promise<void> {
  const db = await getDb();
  await db.query('DELETE FROM idempotency_keys WHERE org_id = $1 AND key = $2 AND status IS NULL', [orgId, key]);
}

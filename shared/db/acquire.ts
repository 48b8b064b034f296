import type pg from 'pg';
import { now, type Tier } from '../deadline/index.js';
import { UnavailableError } from '../errors/index.js';
import { isPoolWaitTimeout, mapDbError } from './errors.js';

/**
 * Waits for a free connection, but never past the budget: at expiry the caller gets
 * `UNAVAILABLE` with `Retry-After`. If the pool hands a connection over after we gave up,
 * it goes straight back.
 */
export async function acquire(pool: pg.Pool, expiresAt: number, tier: Tier): Promise<pg.PoolClient> {
  const started = now();
  // Fast path: an idle connection and nobody queued before us is handed over on the next
  // tick, so there is no wait to bound and no timer to arm on the hot path. (Should that
  // idle connection die in this very tick, the pool's own connect timeout still bounds it.)
  if (pool.idleCount > 0 && pool.waitingCount === 0) {
    try {
      return await pool.connect();
    } catch (error) {
      throw acquireError(error, started);
    }
  }
  const wait = expiresAt - started;
  const pending = pool.connect();
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new UnavailableError(`No database connection became free within the ${tier} budget of ${Math.round(wait)} ms`, { retryAfterSeconds: 1 }));
    }, wait);
  });
  try {
    return await Promise.race([pending, timeout]);
  } catch (error) {
    if (timedOut) {
      pending.then((late) => late.release(), () => undefined);
      throw error;
    }
    throw acquireError(error, started);
  } finally {
    clearTimeout(timer);
  }
}

function acquireError(error: unknown, started: number): unknown {
  // The pool's connect timeout ended the wait before our budget did: same answer.
  if (isPoolWaitTimeout(error)) {
    return new UnavailableError(`No database connection became free within ${Math.round(now() - started)} ms`, {
      retryAfterSeconds: 1,
      cause: error,
    });
  }
  return mapDbError(error, now() - started);
}

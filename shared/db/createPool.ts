import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { log } from '../log/index.js';
import { toError } from './errors.js';
import { closePool } from './closePool.js';
import { dbHandle } from './dbHandle.js';
import { openPool } from './openPool.js';
import type { PoolState } from './poolState.js';
import type { Db, PoolOptions } from './types.js';

/**
 * Opens a health-checked pool. On any failure it closes everything it opened (pool and
 * connector) before retrying with backoff, and finally throws the ORIGINAL error — a
 * cleanup failure is logged, never thrown in its place.
 *
 * The pool's parts, one job each: `openPool` (configuration, connector), `poolState`
 * (what is tracked of the pool and its connections), `acquire` (a connection within the
 * budget), `runStatement` (server-side timeout and client backstop), `withCheckedOutClient`
 * (one connection for a call, released or destroyed), `inTransaction`, `sendCancelRequest`
 * (shutdown), `closePool`, and `dbHandle` (the {@link Db} facade).
 */
export async function createPool(options: PoolOptions): Promise<Db> {
  const { connectAttempts = 3, backoffMs = 200 } = options;
  let lastError: unknown;
  for (let attempt = 1; attempt <= connectAttempts; attempt += 1) {
    let state: PoolState | undefined;
    try {
      state = await openPool(options);
      await healthCheck(state, options.healthCheck);
      return dbHandle(state);
    } catch (error) {
      lastError = error;
      log.warn('Opening the database pool failed', {
        attempt,
        attempts: connectAttempts,
        application_name: options.applicationName,
        err: error,
      });
      if (state !== undefined) await closePool(state);
      if (attempt < connectAttempts) {
        const delay = backoffMs * 2 ** (attempt - 1);
        await sleep(delay / 2 + Math.random() * (delay / 2));
      }
    }
  }
  throw lastError;
}

/** One connection, checked before the pool is handed out; one that fails is destroyed, not pooled. */
async function healthCheck(state: PoolState, check: ((client: pg.PoolClient) => Promise<void>) | undefined): Promise<void> {
  const client = await state.pool.connect();
  let failed: unknown;
  try {
    if (check !== undefined) await check(client);
    else await client.query('SELECT 1');
  } catch (error) {
    failed = error;
    throw error;
  } finally {
    client.release(failed === undefined ? undefined : toError(failed));
  }
}

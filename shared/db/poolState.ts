import type pg from 'pg';
import { log } from '../log/index.js';
import type { ConnectorLike } from './types.js';

/** What the pool knows of one open connection, from its first `'connect'` to its `'remove'`. */
export interface ConnectionState {
  /** The `statement_timeout` as we last set it; undefined when unknown (after a rollback). */
  statementTimeoutMs: number | undefined;
  /** Handed to a caller right now: it may have a statement running. */
  checkedOut: boolean;
  /** We asked the server to cancel its statement: its `57014` means shutdown, not a budget. */
  cancelledForShutdown: boolean;
}

/** Everything one pool holds, in one place: the `pg.Pool`, the connector, and what we track. */
export interface PoolState {
  readonly pool: pg.Pool;
  readonly connector: ConnectorLike | undefined;
  readonly applicationName: string;
  readonly max: number;
  /** Every connection opened whose socket has not closed yet. */
  readonly connections: Map<pg.PoolClient, ConnectionState>;
  /** Woken when the last open connection has closed. */
  closeWaiters: (() => void)[];
  /** Idle connections the server closed (each one an `'error'` on the pool). */
  idleErrors: number;
  /** Set by the first `close()`; later calls wait on the same promise. */
  closing: Promise<void> | undefined;
}

/**
 * Starts tracking `pool`'s connections and handles its idle errors.
 *
 * - `pool.end()` resolves once the pool *forgot* its clients, while their `client.end()` is
 *   still in flight — the backends are then still in `pg_stat_activity`, and a process that
 *   exits right away may never send their Terminate message. pg-pool emits `'remove'` when a
 *   client's `end()` has finished; counting those lets `close()` mean closed.
 * - An idle client killed by the server (failover, `pg_terminate_backend`, idle reaper)
 *   makes the pool emit `'error'`; unhandled, that crashes the process. pg-pool already
 *   drops the dead client, so counting and logging is all that is left to do.
 */
export function trackPool(pool: pg.Pool, connector: ConnectorLike | undefined, applicationName: string, max: number): PoolState {
  const state: PoolState = { pool, connector, applicationName, max, connections: new Map(), closeWaiters: [], idleErrors: 0, closing: undefined };
  pool.on('connect', (client) => {
    state.connections.set(client, { statementTimeoutMs: startupStatementTimeout(client), checkedOut: false, cancelledForShutdown: false });
  });
  pool.on('remove', (client) => {
    state.connections.delete(client);
    if (state.connections.size === 0) for (const wake of state.closeWaiters.splice(0)) wake();
  });
  pool.on('error', (error) => {
    state.idleErrors += 1;
    log.warn('An idle database connection was closed by the server; it was removed from the pool', {
      application_name: applicationName,
      err: error,
    });
  });
  return state;
}

/**
 * The `statement_timeout` a connection was opened with: the startup parameter `pg` sent,
 * after merging the connection string over the pool's config (a `DATABASE_URL` may carry
 * its own). Undefined when it is not a number we can trust: the first query then sets it.
 */
function startupStatementTimeout(client: pg.PoolClient): number | undefined {
  const value = (client as unknown as { connectionParameters?: { statement_timeout?: unknown } }).connectionParameters?.statement_timeout;
  // `pg` sends `String(parseInt(value, 10))`; a connection string gives it as text.
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Number.parseInt(value, 10) : Number.NaN;
  return Number.isInteger(ms) && ms > 0 ? ms : undefined;
}

/** Resolves when every connection the pool opened is closed, or after `timeoutMs`; true when all closed. */
export async function connectionsClosed(state: PoolState, timeoutMs: number): Promise<boolean> {
  if (state.connections.size === 0) return true;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<boolean>((resolve) => {
      state.closeWaiters.push(() => resolve(true));
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
  } finally {
    clearTimeout(timer);
  }
}

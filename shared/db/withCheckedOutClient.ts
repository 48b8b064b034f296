import type pg from 'pg';
import { budgetMs, now } from '../deadline/index.js';
import { DeadlineExceededError, UnavailableError } from '../errors/index.js';
import { log } from '../log/index.js';
import { acquire } from './acquire.js';
import { DatabaseUnresponsiveError, isConnectionError, mapDbError, sqlState, toError } from './errors.js';
import type { PoolState } from './poolState.js';
import { runStatement } from './runStatement.js';
import type { DbClient, QueryOptions, SqlParam } from './types.js';

/** A checked-out client whose connection can be marked for destruction on release. */
export interface CheckedOutClient extends DbClient {
  markBroken(error: Error): void;
}

/**
 * Runs `fn` on one connection, checked out within the tier's budget and always released —
 * destroyed instead when it broke (a connection error, a server that stopped answering, a
 * failed rollback). Every statement on it runs under the same budget.
 */
export async function withCheckedOutClient<T>(state: PoolState, fn: (client: CheckedOutClient) => Promise<T>, { tier = 'user' }: QueryOptions = {}): Promise<T> {
  const ms = budgetMs(tier);
  const expiresAt = now() + ms;
  if (ms <= 0) throw new DeadlineExceededError(`No time left for ${tier} database work`);
  const raw = await acquire(state.pool, expiresAt, tier);
  const connection = state.connections.get(raw);
  if (connection !== undefined) connection.checkedOut = true;
  let broken: Error | undefined;
  // While checked out, a connection error with no query running is emitted on the
  // client; without a listener it would crash the process.
  const onError = (error: Error): void => {
    broken = error;
    log.warn('A checked-out database connection failed', { application_name: state.applicationName, err: error });
  };
  raw.on('error', onError);
  const client: CheckedOutClient = {
    markBroken: (error: Error) => {
      broken = error;
    },
    remainingMs: () => Math.max(0, expiresAt - now()),
    query: async <R extends pg.QueryResultRow>(sql: string, params?: readonly SqlParam[]) => {
      try {
        return await runStatement<R>(raw, connection, sql, params, expiresAt, ms);
      } catch (error) {
        if (error instanceof DatabaseUnresponsiveError || isConnectionError(error)) broken = toError(error);
        // Cancelled for shutdown: the server's cancel (57014), or our backstop should the
        // server not answer even that, means the instance is going away, not a budget.
        if (connection?.cancelledForShutdown === true && (sqlState(error) === '57014' || error instanceof DatabaseUnresponsiveError)) {
          throw new UnavailableError('The instance is shutting down', { retryAfterSeconds: 1, cause: error });
        }
        throw mapDbError(error, ms);
      }
    },
  };
  try {
    return await fn(client);
  } finally {
    raw.off('error', onError);
    if (connection !== undefined) {
      connection.checkedOut = false;
      connection.cancelledForShutdown = false;
    }
    raw.release(broken);
  }
}

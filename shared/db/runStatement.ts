import type pg from 'pg';
import { now } from '../deadline/index.js';
import { DeadlineExceededError } from '../errors/index.js';
import { withBackstop } from './backstop.js';
import { DatabaseUnresponsiveError } from './errors.js';
import type { ConnectionState } from './poolState.js';
import type { SqlParam } from './types.js';

/**
 * A connection whose server-side `statement_timeout` is within this much of the wanted
 * budget is used as it is. Without the slack every query would need a `SET` round trip
 * (the budget shrinks by microseconds between queries); with it, the server cancels at
 * most this much after the budget, and the client-side backstop covers the rest.
 */
const TIMEOUT_SLACK_MS = 50;
/** Extra wait, past the budget, before the client gives up on a server that did not cancel. */
const BACKSTOP_GRACE_MS = 1000;
/** Transaction control statements are instant and must not be preceded by a SET (it fails in an aborted transaction). */
const TRANSACTION_CONTROL = /^\s*(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT)\b/i;

/**
 * Runs one statement within what is left of the budget: the server cancels it at the
 * budget (`statement_timeout`, set only when the connection's differs by more than the
 * slack), and should the server not answer at all (a partition, a frozen backend) the
 * client stops waiting shortly after with {@link DatabaseUnresponsiveError} — the caller
 * then destroys the connection.
 */
export function runStatement<R extends pg.QueryResultRow>(
  client: pg.PoolClient,
  connection: ConnectionState | undefined,
  sql: string,
  params: readonly SqlParam[] | undefined,
  expiresAt: number,
  budgetMs: number,
): Promise<pg.QueryResult<R>> {
  const remaining = Math.floor(expiresAt - now());
  if (remaining <= 0) return Promise.reject(new DeadlineExceededError(`The ${Math.round(budgetMs)} ms database budget ran out`));
  const control = TRANSACTION_CONTROL.exec(sql)?.[1]?.toUpperCase();
  const current = connection?.statementTimeoutMs;
  const needsSet = control === undefined && (current === undefined || Math.abs(current - remaining) > TIMEOUT_SLACK_MS);
  // A rollback undoes a SET made inside the transaction: the setting is unknown again.
  if ((control === 'ROLLBACK' || control === 'ABORT') && connection !== undefined) connection.statementTimeoutMs = undefined;
  // The backstop covers the SET as well: a server that stops answering does so to any statement.
  const work = needsSet
    ? setTimeoutThenRun<R>(client, connection, remaining, sql, params)
    : client.query<R>(sql, params as unknown[] | undefined);
  return withBackstop(work, now() + remaining + BACKSTOP_GRACE_MS, () => new DatabaseUnresponsiveError(budgetMs, BACKSTOP_GRACE_MS));
}

async function setTimeoutThenRun<R extends pg.QueryResultRow>(
  client: pg.PoolClient,
  connection: ConnectionState | undefined,
  timeoutMs: number,
  sql: string,
  params: readonly SqlParam[] | undefined,
): Promise<pg.QueryResult<R>> {
  // SET takes no bind parameters; `timeoutMs` is an integer we computed.
  await client.query(`SET statement_timeout = ${timeoutMs}`);
  if (connection !== undefined) connection.statementTimeoutMs = timeoutMs;
  return client.query<R>(sql, params as unknown[] | undefined);
}

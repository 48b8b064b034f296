import { DeadlineExceededError, isAppError, UnavailableError } from '../errors/index.js';

/** A PostgreSQL error as `pg` reports it (SQLSTATE in `code`). */
interface PgLikeError extends Error {
  code?: string;
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

/** `value` as an `Error` (a non-Error thrown value is wrapped), e.g. to destroy a connection with it. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** SQLSTATE of an error, if it has one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as PgLikeError | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** `unique_violation` — callers turn it into `ALREADY_EXISTS`. */
export function isUniqueViolation(error: unknown): boolean {
  return sqlState(error) === '23505';
}

/** True when the connection behind the error cannot be trusted any more. */
export function isConnectionError(error: unknown): boolean {
  const code = sqlState(error);
  if (code === undefined) {
    const message = error instanceof Error ? error.message : '';
    return /Connection terminated|connection is closed|Client has encountered a connection error/i.test(message);
  }
  return CONNECTION_CODES.has(code) || code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03';
}

/**
 * pg-pool's own give-up on a queued `connect()`: its `connectionTimeoutMillis` also bounds
 * the wait for a free connection, and may end before the caller's budget does.
 */
export function isPoolWaitTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === 'timeout exceeded when trying to connect';
}

/**
 * The server did not answer a statement within its budget plus a grace period: it did not
 * cancel it (a network partition, a frozen backend). The connection cannot be trusted and
 * is destroyed; the caller gets `DEADLINE_EXCEEDED` like any statement that outlived its
 * budget.
 */
export class DatabaseUnresponsiveError extends DeadlineExceededError {
  override readonly name = 'DatabaseUnresponsiveError';
  constructor(budgetMs: number, graceMs: number) {
    super(`The database did not answer within its ${Math.round(budgetMs)} ms budget and ${graceMs} ms of grace`);
  }
}

/**
 * Wraps a foreign database error at the boundary (errors of our own family pass through):
 * - `57014` from our own `statement_timeout` → `DEADLINE_EXCEEDED` (the server cancelled it);
 * - lost connections, shutdowns and `too_many_connections` → `UNAVAILABLE` (retryable);
 * - anything else passes through unchanged (callers map constraint errors; the HTTP
 *   boundary turns the rest into `INTERNAL`).
 */
export function mapDbError(error: unknown, budgetMs: number): unknown {
  if (isAppError(error)) return error;
  const code = sqlState(error);
  if (code === '57014') {
    return new DeadlineExceededError(`The database work did not finish within its ${Math.round(budgetMs)} ms budget`, error);
  }
  if (code === '53300' || code === '53400' || isConnectionError(error)) {
    return new UnavailableError('The database is unavailable, retry shortly', { cause: error, retryAfterSeconds: 1 });
  }
  return error;
}

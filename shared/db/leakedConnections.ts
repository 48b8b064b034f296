import { FUNCTION_NAMES } from '../config/index.js';
import { log } from '../log/index.js';
import { APP_NAME_PATTERN } from './instance.js';
import type { DbClient, SqlParam } from './types.js';

/** How long a backend of this app may sit idle before it counts as leaked. @default 300 */
export const DEFAULT_LEAK_IDLE_SECONDS = 300;

/** The states of a backend that waits on its client, not on the server. */
export const IDLE_STATES = ['idle', 'idle in transaction', 'idle in transaction (aborted)'] as const;

/** A backend state in which a connection may be leaked. */
export type IdleState = (typeof IDLE_STATES)[number];

/** What decides which backends are leaked. */
export interface LeakOptions {
  /** Seconds since the backend's last state change, past which an idle one is leaked. @default 300 */
  idleSeconds?: number;
  /** The functions whose connections are this app's. @default FUNCTION_NAMES */
  functionNames?: readonly string[];
}

/** A backend of this app that has been idle longer than the threshold. */
export interface LeakedConnection {
  pid: number;
  applicationName: string;
  functionName: string;
  instance: string;
  state: IdleState;
  /** Seconds since its last state change, one decimal. */
  idleSeconds: number;
  /** With `pid`, what identifies the backend: a pid can be reused by a later backend. */
  backendStart: string;
}

/** Anything that runs one statement: a pool (`Db`) or a checked-out client. */
export type Queryable = Pick<DbClient, 'query'>;

/**
 * What makes a backend leaked, evaluated by the server on `pg_stat_activity a`
 * ($1 = function names, $2 = idle seconds). The name must be `<function>:<instance>` for
 * a function of the list: a bare `pricing`, `psql` or `unknownfn:x` never matches. The
 * same text guards the terminating statement, so a backend that became active after it
 * was listed is not touched.
 *
 * - `session_user`, not `current_user`: `usename` is the login role, and a `SET ROLE` in
 *   the calling session must not widen or narrow whom we may touch.
 * - The caller's own backend and the caller's own pool (same `application_name`) are
 *   excluded: the pool closes its idle connections itself.
 * - Only client backends: walsenders and background workers are never ours.
 */
const LEAK_CONDITIONS = `
      a.backend_type = 'client backend'
  AND a.datname = current_database()
  AND a.usename = session_user
  AND a.pid <> pg_backend_pid()
  AND a.application_name <> current_setting('application_name')
  AND a.application_name ~ '${APP_NAME_PATTERN}'
  AND split_part(a.application_name, ':', 1) = ANY($1::text[])
  AND a.state IN (${IDLE_STATES.map((s) => `'${s}'`).join(', ')})
  AND a.state_change < now() - make_interval(secs => $2::float8)`;

const LEAK_COLUMNS = `
  a.pid,
  a.application_name,
  a.state,
  a.backend_start::text AS backend_start,
  round(extract(epoch FROM now() - a.state_change)::numeric, 1)::float8 AS idle_seconds`;

interface LeakRow {
  pid: number;
  application_name: string;
  state: IdleState;
  backend_start: string;
  idle_seconds: number;
}

function resolve(options: LeakOptions): { idleSeconds: number; functionNames: readonly string[] } {
  const { idleSeconds = DEFAULT_LEAK_IDLE_SECONDS, functionNames = FUNCTION_NAMES } = options;
  // A threshold of 0 would take every idle pooled connection of every instance for a leak.
  if (!Number.isFinite(idleSeconds) || idleSeconds <= 0) {
    throw new RangeError(`The leak threshold must be a positive number of seconds, not ${idleSeconds}`);
  }
  return { idleSeconds, functionNames };
}

function toLeaked(row: LeakRow): LeakedConnection {
  const separator = row.application_name.indexOf(':');
  return {
    pid: row.pid,
    applicationName: row.application_name,
    functionName: row.application_name.slice(0, separator),
    instance: row.application_name.slice(separator + 1),
    state: row.state,
    idleSeconds: row.idle_seconds,
    backendStart: row.backend_start,
  };
}

/**
 * Lists this app's leaked connections: backends in this database, of this login role,
 * whose `application_name` is `<function>:<instance>` for a function of the app, idle
 * (or idle in a transaction) for longer than the threshold. Never lists the caller's own
 * backend. Oldest first.
 */
export async function findLeakedConnections(db: Queryable, options: LeakOptions = {}): Promise<LeakedConnection[]> {
  const { idleSeconds, functionNames } = resolve(options);
  const { rows } = await db.query<LeakRow>(
    `SELECT ${LEAK_COLUMNS} FROM pg_stat_activity a WHERE ${LEAK_CONDITIONS} ORDER BY a.state_change, a.pid`,
    [functionNames, idleSeconds],
  );
  return rows.map(toLeaked);
}

/** Options for {@link terminateLeakedConnections}. */
export interface TerminateLeakedOptions extends LeakOptions {
  /**
   * Terminate only these (as listed by {@link findLeakedConnections}), and only those that
   * are still leaked. Without it, every backend leaked at the time of the call.
   */
  only?: readonly Pick<LeakedConnection, 'pid' | 'backendStart'>[];
}

/**
 * Terminates this app's leaked connections with `pg_terminate_backend` and logs each one
 * (pid, application_name, state, idle seconds). The leak conditions are checked by the
 * very statement that terminates, on a fresh view of `pg_stat_activity`, so a backend
 * that became active (or changed hands) since it was listed is left alone. Returns the
 * backends that were terminated.
 *
 * Run it outside an explicit transaction (`Db.query` is): `pg_stat_activity` is read once
 * per transaction, and a view taken earlier in the same transaction would be stale.
 */
export async function terminateLeakedConnections(db: Queryable, options: TerminateLeakedOptions = {}): Promise<LeakedConnection[]> {
  const { idleSeconds, functionNames } = resolve(options);
  const { only } = options;
  if (only?.length === 0) return [];
  // `(pid, backend_start)` names one backend for good; a pid alone could by now be a new one.
  const restrict =
    only === undefined
      ? ''
      : `AND (a.pid, a.backend_start) IN (SELECT k.pid, k.started::timestamptz FROM unnest($3::int[], $4::text[]) AS k (pid, started))`;
  const params: SqlParam[] = [functionNames, idleSeconds];
  if (only !== undefined) params.push(only.map((c) => c.pid), only.map((c) => c.backendStart));
  const { rows } = await db.query<LeakRow & { terminated: boolean }>(
    `SELECT ${LEAK_COLUMNS}, pg_terminate_backend(a.pid) AS terminated
       FROM pg_stat_activity a
      WHERE ${LEAK_CONDITIONS} ${restrict}
      ORDER BY a.state_change, a.pid`,
    params,
  );
  const terminated: LeakedConnection[] = [];
  for (const row of rows) {
    const leaked = toLeaked(row);
    if (!row.terminated) {
      // The backend ended between the check and the signal: nothing left to do.
      log.info('A leaked database connection was already gone', { pid: leaked.pid, application_name: leaked.applicationName });
      continue;
    }
    log.warn('Terminated a leaked database connection', {
      pid: leaked.pid,
      application_name: leaked.applicationName,
      state: leaked.state,
      idle_seconds: leaked.idleSeconds,
    });
    terminated.push(leaked);
  }
  return terminated;
}

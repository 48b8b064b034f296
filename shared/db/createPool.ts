import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { budgetMs, now, TIERS, type Tier } from '../deadline/index.js';
import { DeadlineExceededError, UnavailableError } from '../errors/index.js';
import { log } from '../log/index.js';
import { POOL_MAX_CEILING } from '../config/index.js';
import { isConnectionError, isPoolWaitTimeout, mapDbError, sqlState } from './errors.js';
import type { ConnectorLike, Db, DbClient, DbPoolStats, PoolOptions, QueryOptions, SqlParam } from './types.js';

/**
 * A connection whose server-side `statement_timeout` is within this much of the wanted
 * budget is used as it is. Without the slack every query would need a `SET` round trip
 * (the budget shrinks by microseconds between queries); with it, the server cancels at
 * most this much after the budget, and the client-side backstop covers the rest.
 */
const TIMEOUT_SLACK_MS = 50;
/** Extra wait, past the budget, before the client gives up on a server that did not cancel. */
const BACKSTOP_GRACE_MS = 1000;
/** The `statement_timeout` a fresh connection starts with: the most common tier. */
const INITIAL_STATEMENT_TIMEOUT_MS = TIERS.user;

/** Per-connection `statement_timeout` as we last set it (unknown after a rollback). */
const statementTimeouts = new WeakMap<pg.PoolClient, number>();

/** Connections whose statement we asked the server to cancel: their `57014` means shutdown, not a budget. */
const cancelledForShutdown = new WeakSet<pg.PoolClient>();
/** Longest wait for the server to take a cancel request (it answers by closing the socket). */
const CANCEL_TIMEOUT_MS = 1000;

/**
 * Opens a health-checked pool. On any failure it closes everything it opened (pool and
 * connector) before retrying with backoff, and finally throws the ORIGINAL error — a
 * cleanup failure is logged, never thrown in its place.
 */
export async function createPool(options: PoolOptions): Promise<Db> {
  const { connectAttempts = 3, backoffMs = 200 } = options;
  let lastError: unknown;
  for (let attempt = 1; attempt <= connectAttempts; attempt += 1) {
    let pool: pg.Pool | undefined;
    let connector: ConnectorLike | undefined;
    try {
      ({ pool, connector } = await openPool(options));
      await healthCheck(pool, options);
      return wrapPool(pool, connector, options);
    } catch (error) {
      lastError = error;
      log.warn('Opening the database pool failed', {
        attempt,
        attempts: connectAttempts,
        application_name: options.applicationName,
        err: error,
      });
      await closeQuietly(pool, connector, options.applicationName);
      if (attempt < connectAttempts) {
        const delay = backoffMs * 2 ** (attempt - 1);
        await sleep(delay / 2 + Math.random() * (delay / 2));
      }
    }
  }
  throw lastError;
}

async function openPool(options: PoolOptions): Promise<{ pool: pg.Pool; connector: ConnectorLike | undefined }> {
  const max = Math.min(options.max ?? POOL_MAX_CEILING, POOL_MAX_CEILING);
  const base: pg.PoolConfig = {
    max,
    idleTimeoutMillis: options.idleTimeoutMs ?? 60_000,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    application_name: options.applicationName.slice(0, 63),
    statement_timeout: INITIAL_STATEMENT_TIMEOUT_MS,
    // A transaction left open by a bug must not hold locks (or a slot) forever.
    idle_in_transaction_session_timeout: TIERS.batch,
    // A pool that is idle must let the process exit.
    allowExitOnIdle: true,
  };
  let connector: ConnectorLike | undefined;
  let config: pg.PoolConfig;
  if (options.cloudSql !== undefined) {
    const target = options.cloudSql;
    connector = await (options.connectorFactory ?? defaultConnectorFactory)();
    const clientOptions = await connector.getOptions({
      instanceConnectionName: target.instanceConnectionName,
      ipType: target.ipType,
      authType: target.iamAuth ? 'IAM' : 'PASSWORD',
    });
    config = { ...base, ...clientOptions, user: target.user, password: target.password, database: target.database };
  } else if (options.connectionString !== undefined) {
    config = { ...base, connectionString: options.connectionString };
  } else {
    throw new Error('Set DATABASE_URL or INSTANCE_CONNECTION_NAME to reach PostgreSQL');
  }
  const pool = new pg.Pool(config);
  attachIdleErrorHandler(pool, options.applicationName);
  trackOpenConnections(pool);
  return { pool, connector };
}

/** The real connector is only ever built in Google Cloud: without credentials it rejects unhandled. */
async function defaultConnectorFactory(): Promise<ConnectorLike> {
  const { Connector } = await import('@google-cloud/cloud-sql-connector');
  return new Connector();
}

const idleErrorCounts = new WeakMap<pg.Pool, number>();

/**
 * An idle client killed by the server (failover, `pg_terminate_backend`, idle reaper)
 * makes the pool emit `'error'`; unhandled, that crashes the process. pg-pool already
 * drops the dead client, so logging is all that is left to do.
 */
function attachIdleErrorHandler(pool: pg.Pool, applicationName: string): void {
  pool.on('error', (error) => {
    idleErrorCounts.set(pool, (idleErrorCounts.get(pool) ?? 0) + 1);
    log.warn('An idle database connection was closed by the server; it was removed from the pool', {
      application_name: applicationName,
      err: error,
    });
  });
}

/** Longest wait, after `pool.end()`, for the pool's sockets to close: a dead peer must not stall shutdown. */
const CLOSE_WAIT_MS = 2000;

/** Per pool: connections opened whose socket has not closed yet, and who waits for none to be left. */
const openConnections = new WeakMap<pg.Pool, { open: Set<pg.PoolClient>; waiters: (() => void)[] }>();

/**
 * `pool.end()` resolves once the pool *forgot* its clients, while their `client.end()` is
 * still in flight — the backends are then still in `pg_stat_activity`, and a process that
 * exits right away may never send their Terminate message. pg-pool emits `'remove'` when a
 * client's `end()` has finished; counting those lets `close()` mean closed.
 */
function trackOpenConnections(pool: pg.Pool): void {
  const state = { open: new Set<pg.PoolClient>(), waiters: [] as (() => void)[] };
  openConnections.set(pool, state);
  pool.on('connect', (client) => state.open.add(client));
  pool.on('remove', (client) => {
    state.open.delete(client);
    if (state.open.size === 0) for (const wake of state.waiters.splice(0)) wake();
  });
}

/** Resolves when every connection `pool` opened is closed, or after `timeoutMs`; true when all closed. */
async function connectionsClosed(pool: pg.Pool, timeoutMs: number): Promise<boolean> {
  const state = openConnections.get(pool);
  if (state === undefined || state.open.size === 0) return true;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<boolean>((resolve) => {
      state.waiters.push(() => resolve(true));
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
  } finally {
    clearTimeout(timer);
  }
}

async function healthCheck(pool: pg.Pool, options: PoolOptions): Promise<void> {
  const client = await pool.connect();
  let failed: unknown;
  try {
    if (options.healthCheck !== undefined) await options.healthCheck(client);
    else await client.query('SELECT 1');
    statementTimeouts.set(client, INITIAL_STATEMENT_TIMEOUT_MS);
  } catch (error) {
    failed = error;
    throw error;
  } finally {
    // A connection that failed its check is destroyed, not returned to the pool.
    client.release(failed === undefined ? undefined : toError(failed));
  }
}

async function closeQuietly(pool: pg.Pool | undefined, connector: ConnectorLike | undefined, applicationName: string): Promise<void> {
  try {
    if (pool !== undefined) {
      await pool.end();
      if (!(await connectionsClosed(pool, CLOSE_WAIT_MS))) {
        log.warn('Database connections did not close in time', { application_name: applicationName, timeout_ms: CLOSE_WAIT_MS });
      }
    }
  } catch (error) {
    log.error('Closing the database pool failed', error, { application_name: applicationName });
  }
  try {
    await connector?.close();
  } catch (error) {
    log.error('Closing the Cloud SQL connector failed', error, { application_name: applicationName });
  }
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

function wrapPool(pool: pg.Pool, connector: ConnectorLike | undefined, options: PoolOptions): Db {
  const applicationName = options.applicationName;
  const max = Math.min(options.max ?? POOL_MAX_CEILING, POOL_MAX_CEILING);
  let closing: Promise<void> | undefined;
  /** Connections handed to callers right now: the ones that may have a statement running. */
  const checkedOut = new Set<pg.PoolClient>();

  async function withClient<T>(fn: (client: DbClient) => Promise<T>, { tier = 'user' }: QueryOptions = {}): Promise<T> {
    const ms = budgetMs(tier);
    const expiresAt = now() + ms;
    if (ms <= 0) throw new DeadlineExceededError(`No time left for ${tier} database work`);
    const raw = await acquire(pool, expiresAt, tier);
    checkedOut.add(raw);
    let broken: Error | undefined;
    // While checked out, a connection error with no query running is emitted on the
    // client; without a listener it would crash the process.
    const onError = (error: Error): void => {
      broken = error;
      log.warn('A checked-out database connection failed', { application_name: applicationName, err: error });
    };
    raw.on('error', onError);
    const client: InternalClient = {
      markBroken: (error: Error) => {
        broken = error;
      },
      remainingMs: () => Math.max(0, expiresAt - now()),
      query: async <R extends pg.QueryResultRow>(sql: string, params?: readonly SqlParam[]) => {
        try {
          return await runQuery<R>(raw, sql, params, expiresAt, ms);
        } catch (error) {
          if (isConnectionError(error) || (error as { backstop?: boolean }).backstop === true) broken = toError(error);
          if (cancelledForShutdown.has(raw) && sqlState(error) === '57014') {
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
      checkedOut.delete(raw);
      cancelledForShutdown.delete(raw);
      raw.release(broken);
    }
  }

  async function withTransaction<T>(fn: (client: DbClient) => Promise<T>, options: QueryOptions = {}): Promise<T> {
    return withClient(async (publicClient) => {
      const client = publicClient as InternalClient;
      await client.query('BEGIN');
      let result: T;
      try {
        result = await fn(client);
      } catch (error) {
        await rollbackQuietly(client, applicationName);
        throw error;
      }
      try {
        await client.query('COMMIT');
      } catch (error) {
        await rollbackQuietly(client, applicationName);
        throw error;
      }
      return result;
    }, options);
  }

  return {
    applicationName,
    max,
    query: (sql, params, queryOptions) => withClient((client) => client.query(sql, params), queryOptions),
    withClient,
    withTransaction,
    stats: (): DbPoolStats => ({
      applicationName,
      max,
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
      idleErrors: idleErrorCounts.get(pool) ?? 0,
    }),
    cancelRunning: async () => {
      const targets = [...checkedOut];
      if (targets.length === 0) return 0;
      for (const raw of targets) cancelledForShutdown.add(raw);
      await Promise.all(targets.map((raw) => sendCancelRequest(pool, raw, applicationName)));
      log.warn('Asked the server to cancel the statements of checked-out connections', { application_name: applicationName, connections: targets.length });
      return targets.length;
    },
    close: () => {
      closing ??= closeQuietly(pool, connector, applicationName);
      return closing;
    },
  };
}

/** What `pg` keeps of a connection's identity on the server (from its BackendKeyData message). */
interface BackendKey {
  processID: number | null;
  secretKey: number | null;
}

/** The part of `pg`'s (untyped) protocol connection a cancel request uses. */
interface CancelConnection {
  stream: { destroy(): void };
  connect(port: number | string, host?: string): void;
  cancel(processID: number, secretKey: number): void;
  on(event: 'error', listener: (error: Error) => void): void;
  once(event: 'connect' | 'end', listener: () => void): void;
}

/**
 * Sends PostgreSQL's CancelRequest for the statement running on `raw`. It goes over a new
 * socket built from the pool's own settings (so through the Cloud SQL connector when that
 * is how we connect), carries the backend's key and nothing else — no session, no
 * connection slot — and the server closes it at once. This is the path `pg`'s own
 * `Client#cancel` takes, minus its deprecated `activeQuery` check. Never rejects.
 */
function sendCancelRequest(pool: pg.Pool, raw: pg.PoolClient, applicationName: string): Promise<void> {
  const { processID, secretKey } = raw as unknown as BackendKey;
  if (processID === null || secretKey === null) return Promise.resolve();
  const template = new pg.Client(pool.options);
  const con = (template as unknown as { connection: CancelConnection }).connection;
  return new Promise((resolve) => {
    let settled = false;
    const done = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      con.stream.destroy();
      resolve();
    };
    const timer = setTimeout(() => {
      log.warn('The server did not take the cancel request in time', { application_name: applicationName, pid: processID });
      done();
    }, CANCEL_TIMEOUT_MS);
    con.on('error', (error) => {
      log.warn('Sending a cancel request failed', { application_name: applicationName, pid: processID, err: error });
      done();
    });
    con.once('connect', () => con.cancel(processID, secretKey));
    con.once('end', done);
    const host = template.host;
    if (host.startsWith('/')) con.connect(`${host}/.s.PGSQL.${template.port}`);
    else con.connect(template.port, host);
  });
}

/** A client whose connection can be marked for destruction on release. */
interface InternalClient extends DbClient {
  markBroken(error: Error): void;
}

async function rollbackQuietly(client: InternalClient, applicationName: string): Promise<void> {
  try {
    await client.query('ROLLBACK');
  } catch (error) {
    // The original error is what the caller needs; this one is only logged, and the
    // connection (maybe still inside a transaction) is destroyed rather than reused.
    client.markBroken(toError(error));
    log.error('ROLLBACK failed after an error', error, { application_name: applicationName });
  }
}

/** Transaction control statements are instant and must not be preceded by a SET (it fails in an aborted transaction). */
const TRANSACTION_CONTROL = /^\s*(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT)\b/i;

/**
 * Waits for a free connection, but never past the budget: at expiry the caller gets
 * `UNAVAILABLE` with `Retry-After`. If the pool hands a connection over after we gave up,
 * it goes straight back.
 */
async function acquire(pool: pg.Pool, expiresAt: number, tier: Tier): Promise<pg.PoolClient> {
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

async function runQuery<R extends pg.QueryResultRow>(
  client: pg.PoolClient,
  sql: string,
  params: readonly SqlParam[] | undefined,
  expiresAt: number,
  budget: number,
): Promise<pg.QueryResult<R>> {
  const remaining = Math.floor(expiresAt - now());
  if (remaining <= 0) throw new DeadlineExceededError(`The ${Math.round(budget)} ms database budget ran out`);
  const control = TRANSACTION_CONTROL.exec(sql)?.[1]?.toUpperCase();
  const current = statementTimeouts.get(client);
  if (control === undefined && (current === undefined || Math.abs(current - remaining) > TIMEOUT_SLACK_MS)) {
    // SET takes no bind parameters; `remaining` is an integer we computed.
    await client.query(`SET statement_timeout = ${remaining}`);
    statementTimeouts.set(client, remaining);
  }
  // A rollback undoes a SET made inside the transaction: the setting is unknown again.
  if (control === 'ROLLBACK' || control === 'ABORT') statementTimeouts.delete(client);
  // Backstop: if the server does not cancel (network partition), stop waiting shortly
  // after the budget; the connection is then destroyed by the caller.
  let timer: NodeJS.Timeout | undefined;
  const backstop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = Object.assign(new Error('The database did not answer within its budget'), { code: '57014', backstop: true });
      reject(error);
    }, remaining + BACKSTOP_GRACE_MS);
  });
  try {
    return await Promise.race([client.query<R>(sql, params as unknown[] | undefined), backstop]);
  } finally {
    clearTimeout(timer);
  }
}

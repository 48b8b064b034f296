import type { Duplex } from 'node:stream';
import type { PoolClient, QueryResult, QueryResultRow } from 'pg';
import type { Tier } from '../deadline/index.js';

/** Values a parameterised statement accepts. */
export type SqlParam = string | number | bigint | boolean | Date | Buffer | null | undefined | readonly unknown[] | Record<string, unknown>;

export interface QueryOptions {
  /** The timeout tier; the budget is `min(tier, time left in the invocation)`. @default 'user' */
  tier?: Tier;
}

/** A checked-out connection. Every query runs under the budget of the surrounding call. */
export interface DbClient {
  query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: readonly SqlParam[]): Promise<QueryResult<R>>;
  /** Milliseconds left in this call's budget. */
  remainingMs(): number;
}

/** A connection checked out for a session of work (`Db.withClient`). */
export interface SessionClient extends DbClient {
  /**
   * Destroys the connection when it is released instead of pooling it — e.g. when session
   * state (an advisory lock) could not be cleaned up: it ends with the session.
   */
  markBroken(error: Error): void;
}

export interface DbPoolStats {
  applicationName: string;
  max: number;
  total: number;
  idle: number;
  waiting: number;
  idleErrors: number;
}

/** The database handle a function uses. */
export interface Db {
  readonly applicationName: string;
  readonly max: number;
  /** One statement on a pooled connection, released afterwards whatever happens. */
  query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: readonly SqlParam[], options?: QueryOptions): Promise<QueryResult<R>>;
  /** Runs `fn` on one connection, always released (destroyed when it broke). */
  withClient<T>(fn: (client: SessionClient) => Promise<T>, options?: QueryOptions): Promise<T>;
  /** Runs `fn` in `BEGIN … COMMIT`; any throw rolls back and is rethrown unmasked. */
  withTransaction<T>(fn: (client: DbClient) => Promise<T>, options?: QueryOptions): Promise<T>;
  stats(): DbPoolStats;
  /**
   * Asks the server to cancel the statement running on every checked-out connection
   * (shutdown, once the drain time is up): a statement waiting on a lock does not see its
   * invocation's abort. Each fails with `UNAVAILABLE` and its connection goes back to the
   * pool. Resolves with the number of connections targeted once the requests are sent.
   */
  cancelRunning(): Promise<number>;
  /** Ends the pool (and the connector); idempotent. */
  close(): Promise<void>;
}

/** What we need of `@google-cloud/cloud-sql-connector`'s `Connector` (faked in tests). */
export interface ConnectorLike {
  getOptions(options: { instanceConnectionName: string; ipType?: unknown; authType?: unknown }): Promise<{ stream: () => Duplex }>;
  close(): void | Promise<void>;
}

export interface CloudSqlTarget {
  instanceConnectionName: string;
  ipType: 'PUBLIC' | 'PRIVATE' | 'PSC';
  iamAuth: boolean;
  user: string;
  password?: string;
  database: string;
}

export interface PoolOptions {
  /** Shown in `pg_stat_activity`: function name and instance id. */
  applicationName: string;
  /** Connections at most; clamped to 3 — config may lower it, never raise it. @default 3 */
  max?: number;
  /** Plain connection string (local, tests). */
  connectionString?: string;
  /** Cloud SQL through the connector (production). */
  cloudSql?: CloudSqlTarget;
  /** Builds the connector; only the tests pass one (the real one needs Google credentials). */
  connectorFactory?: () => Promise<ConnectorLike> | ConnectorLike;
  /** @default 60000 */
  idleTimeoutMs?: number;
  /** Attempts to open a healthy pool before giving up. @default 3 */
  connectAttempts?: number;
  /** First backoff; doubles each retry, with jitter. @default 200 */
  backoffMs?: number;
  /** Per-connection TCP/TLS connect limit. @default 5000 */
  connectTimeoutMs?: number;
  /** Runs on a fresh connection before the pool is handed out. @default `SELECT 1` */
  healthCheck?: (client: PoolClient) => Promise<void>;
}

/** The PostgreSQL pool capped at 3, with budgets enforced on the server (guarantees 2 and 3). */
export { createPool } from './createPool.js';
export { getDb, poolOptionsFromConfig } from './getDb.js';
export { APP_NAME_PATTERN, INSTANCE_ID, applicationNameFor, parseApplicationName } from './instance.js';
export {
  DEFAULT_LEAK_IDLE_SECONDS,
  IDLE_STATES,
  findLeakedConnections,
  terminateLeakedConnections,
  type IdleState,
  type LeakOptions,
  type LeakedConnection,
  type Queryable,
  type TerminateLeakedOptions,
} from './leakedConnections.js';
export { DatabaseUnresponsiveError, isConnectionError, isUniqueViolation, mapDbError, sqlState } from './errors.js';
export type { CloudSqlTarget, ConnectorLike, Db, DbClient, DbPoolStats, PoolOptions, QueryOptions, SessionClient, SqlParam } from './types.js';

import type pg from 'pg';
import { POOL_MAX_CEILING } from '../config/index.js';
import { TIERS } from '../deadline/index.js';
import { log } from '../log/index.js';
import { loadPg } from './loadPg.js';
import { trackPool, type PoolState } from './poolState.js';
import type { ConnectorLike, PoolOptions } from './types.js';

/** The `statement_timeout` a fresh connection starts with: the most common tier. */
const INITIAL_STATEMENT_TIMEOUT_MS = TIERS.user;

/**
 * Builds the `pg.Pool` (through the Cloud SQL connector when one is configured) and starts
 * tracking it. Opens no connection yet. Should the connector fail to give its options, the
 * connector is closed here: nothing this call opened outlives its failure.
 */
export async function openPool(options: PoolOptions): Promise<PoolState> {
  const { Pool } = await loadPg();
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
  if (options.cloudSql !== undefined) {
    const target = options.cloudSql;
    const connector = await (options.connectorFactory ?? defaultConnectorFactory)();
    let clientOptions: Awaited<ReturnType<ConnectorLike['getOptions']>>;
    try {
      clientOptions = await connector.getOptions({
        instanceConnectionName: target.instanceConnectionName,
        ipType: target.ipType,
        authType: target.iamAuth ? 'IAM' : 'PASSWORD',
      });
    } catch (error) {
      await closeConnectorQuietly(connector, options.applicationName);
      throw error;
    }
    const config = { ...base, ...clientOptions, user: target.user, password: target.password, database: target.database };
    return trackPool(new Pool(config), connector, options.applicationName, max);
  }
  if (options.connectionString !== undefined) {
    return trackPool(new Pool({ ...base, connectionString: options.connectionString }), undefined, options.applicationName, max);
  }
  throw new Error('Set DATABASE_URL or INSTANCE_CONNECTION_NAME to reach PostgreSQL');
}

/** The real connector is only ever built in Google Cloud: without credentials it rejects unhandled. */
async function defaultConnectorFactory(): Promise<ConnectorLike> {
  const { Connector } = await import('@google-cloud/cloud-sql-connector');
  return new Connector();
}

/** Closes a connector; a failure is logged, never thrown (the caller has a better error to report). */
export async function closeConnectorQuietly(connector: ConnectorLike | undefined, applicationName: string): Promise<void> {
  try {
    await connector?.close();
  } catch (error) {
    log.error('Closing the Cloud SQL connector failed', error, { application_name: applicationName });
  }
}

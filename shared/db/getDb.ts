import { lazyClient } from '../clients/index.js';
import { runtimeConfig, type RuntimeConfig } from '../config/index.js';
import { onDrainTimeout } from '../lifecycle/index.js';
import { createPool } from './createPool.js';
import { applicationNameFor } from './instance.js';
import type { Db, PoolOptions } from './types.js';

/** Pool options from the runtime config: Cloud SQL connector when `INSTANCE_CONNECTION_NAME` is set. */
export function poolOptionsFromConfig(config: RuntimeConfig): PoolOptions {
  const common = {
    applicationName: applicationNameFor(config.functionName),
    max: config.DB_POOL_MAX,
    idleTimeoutMs: config.DB_IDLE_TIMEOUT_MS,
    connectAttempts: config.DB_CONNECT_ATTEMPTS,
  };
  if (config.INSTANCE_CONNECTION_NAME !== undefined) {
    return {
      ...common,
      cloudSql: {
        instanceConnectionName: config.INSTANCE_CONNECTION_NAME,
        ipType: config.DB_IP_TYPE,
        iamAuth: config.DB_IAM_AUTH,
        user: config.DB_USER ?? '',
        password: config.DB_PASSWORD,
        database: config.DB_NAME ?? '',
      },
    };
  }
  return { ...common, connectionString: config.DATABASE_URL };
}

/** The instance's one pool, created on first use and closed at shutdown. */
export const getDb = lazyClient<Db>('postgres', {
  create: () => createPool(poolOptionsFromConfig(runtimeConfig())),
  close: (db) => db.close(),
});

// Once the drain time is up, a statement still running (waiting on a lock, say) is
// cancelled on the server, so its connection is free for the shutdown flushes.
onDrainTimeout('postgres', async () => {
  await getDb.peek()?.cancelRunning();
});

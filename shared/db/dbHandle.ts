import { log } from '../log/index.js';
import { sendCancelRequest } from './sendCancelRequest.js';
import { withCheckedOutClient } from './withCheckedOutClient.js';
import { closePool } from './closePool.js';
import type { PoolState } from './poolState.js';
import { inTransaction } from './inTransaction.js';
import type { Db, DbPoolStats } from './types.js';

/** The {@link Db} a function uses, over one pool's state. */
export function dbHandle(state: PoolState): Db {
  const { pool, applicationName, max } = state;
  return {
    applicationName,
    max,
    query: (sql, params, options) => withCheckedOutClient(state, (client) => client.query(sql, params), options),
    withClient: (fn, options) => withCheckedOutClient(state, fn, options),
    withTransaction: (fn, options) => withCheckedOutClient(state, (client) => inTransaction(client, fn, applicationName), options),
    stats: (): DbPoolStats => ({
      applicationName,
      max,
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
      idleErrors: state.idleErrors,
    }),
    cancelRunning: async () => {
      const targets = [...state.connections].filter(([, connection]) => connection.checkedOut);
      if (targets.length === 0) return 0;
      for (const [, connection] of targets) connection.cancelledForShutdown = true;
      await Promise.all(targets.map(([raw]) => sendCancelRequest(pool, raw, applicationName)));
      log.warn('Asked the server to cancel the statements of checked-out connections', { application_name: applicationName, connections: targets.length });
      return targets.length;
    },
    close: () => {
      state.closing ??= closePool(state);
      return state.closing;
    },
  };
}

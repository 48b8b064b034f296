import { log } from '../log/index.js';
import { closeConnectorQuietly } from './openPool.js';
import { connectionsClosed, type PoolState } from './poolState.js';

/** Longest wait, after `pool.end()`, for the pool's sockets to close: a dead peer must not stall shutdown. */
const CLOSE_WAIT_MS = 2000;

/**
 * Ends the pool, waits (briefly) until its connections are really closed, then closes the
 * connector. Never rejects: failures are logged, so a caller that is already handling an
 * error keeps the original one.
 */
export async function closePool(state: PoolState): Promise<void> {
  const { applicationName } = state;
  try {
    await state.pool.end();
    if (!(await connectionsClosed(state, CLOSE_WAIT_MS))) {
      log.warn('Database connections did not close in time', { application_name: applicationName, timeout_ms: CLOSE_WAIT_MS });
    }
  } catch (error) {
    log.error('Closing the database pool failed', error, { application_name: applicationName });
  }
  await closeConnectorQuietly(state.connector, applicationName);
}

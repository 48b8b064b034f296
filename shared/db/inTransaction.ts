import { log } from '../log/index.js';
import { toError } from './errors.js';
import type { CheckedOutClient } from './withCheckedOutClient.js';

/**
 * `BEGIN`, `fn`, `COMMIT` on one checked-out client. Any throw (from `fn` or from `COMMIT`)
 * rolls back and is rethrown unmasked.
 */
export async function inTransaction<T>(client: CheckedOutClient, fn: (client: CheckedOutClient) => Promise<T>, applicationName: string): Promise<T> {
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
}

async function rollbackQuietly(client: CheckedOutClient, applicationName: string): Promise<void> {
  try {
    await client.query('ROLLBACK');
  } catch (error) {
    // The original error is what the caller needs; this one is only logged, and the
    // connection (maybe still inside a transaction) is destroyed rather than reused.
    client.markBroken(toError(error));
    log.error('ROLLBACK failed after an error', error, { application_name: applicationName });
  }
}

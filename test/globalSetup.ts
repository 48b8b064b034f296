import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalPostgres, type LocalPostgres } from '../dev/postgres.js';
import { migrate } from '../deploy/migrate.js';
import { TMP_ROOT } from './fixtures/runtime/functionsFramework.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

let server: LocalPostgres | undefined;

/**
 * One real PostgreSQL for the whole run: the one in `DATABASE_URL` when set, otherwise an
 * embedded server in a temporary directory. Migrations are applied once.
 */
export async function setup(project: TestProject): Promise<void> {
  process.env.METADATA_SERVER_DETECTION = 'none';
  let url = process.env.DATABASE_URL;
  if (url === undefined || url === '') {
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'cloudact-test-')), 'pg');
    server = await startLocalPostgres({ dataDir, database: 'cloudact_test', persistent: false, maxConnections: 200 });
    url = server.url;
    process.env.DATABASE_URL = url;
  }
  await migrate(url);
  project.provide('databaseUrl', url);
}

export async function teardown(): Promise<void> {
  await server?.stop();
  // Function bundles the process tests built for themselves.
  rmSync(TMP_ROOT, { recursive: true, force: true });
}

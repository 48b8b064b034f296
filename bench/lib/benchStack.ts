import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { functionEnv, manifest, type FunctionSpec } from '../../deploy/manifest.js';
import { startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import { benchDatabase } from '../quota.js';

/**
 * What every function of the manifest needs to start and answer as it does under
 * `npm start`: a migrated PostgreSQL (embedded unless DATABASE_URL is set), the local
 * BigQuery endpoint, a key-encryption key file and an admin token. The benchmarks start the
 * functions themselves (one process each, as the platform does), so they can time and
 * restart them.
 */
export interface BenchStack {
  databaseUrl: string;
  bigquery: BigQueryEndpoint;
  adminToken: string;
  /** An open connection for set-up and for sampling `pg_stat_activity`. */
  admin: pg.Client;
  /** The environment `name` runs with: the manifest's, plus the local services'. */
  envFor(name: string, overrides?: Record<string, string>): Record<string, string>;
  stop(): Promise<void>;
}

/** Every function of the manifest (so a function added there is benchmarked without a change here). */
export function manifestFunctions(only: string[] = []): FunctionSpec[] {
  return manifest.functions.filter((f) => only.length === 0 || only.includes(f.name));
}

/** The functions named in `BENCH_FUNCTIONS` (comma-separated), or every one. */
export function functionsFromEnv(): FunctionSpec[] {
  const only = (process.env.BENCH_FUNCTIONS ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  return manifestFunctions(only);
}

export async function startBenchStack(): Promise<BenchStack> {
  const db = await benchDatabase();
  const bigquery = await startBigQueryEndpoint({ port: 0 });
  const scratch = mkdtempSync(path.join(tmpdir(), 'cloudact-bench-stack-'));
  const kekFile = path.join(scratch, 'kek.key');
  writeFileSync(kekFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const adminToken = `adm_${randomBytes(24).toString('base64url')}`;
  const admin = new pg.Client({ connectionString: db.url, application_name: 'bench-admin' });
  await admin.connect();
  return {
    databaseUrl: db.url,
    bigquery,
    adminToken,
    admin,
    envFor: (name, overrides = {}) => ({
      ...functionEnv(name),
      DATABASE_URL: db.url,
      ADMIN_TOKEN: adminToken,
      BIGQUERY_API_ENDPOINT: bigquery.url,
      GOOGLE_CLOUD_PROJECT: 'local-project',
      KEK_FILE: kekFile,
      ...overrides,
    }),
    stop: async () => {
      await admin.end().catch(() => undefined);
      await bigquery.close();
      await db.stop();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** Client backends whose `application_name` starts with `<function>:` (what each pool names itself), by function. */
export async function backendsByFunction(admin: pg.Client): Promise<Map<string, number>> {
  const { rows } = await admin.query<{ fn: string; n: number }>(
    `SELECT split_part(application_name, ':', 1) AS fn, count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend' AND application_name LIKE '%:%'
      GROUP BY 1`,
  );
  return new Map(rows.map((r) => [r.fn, r.n]));
}

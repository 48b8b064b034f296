import { readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate, MIGRATIONS_DIR, MIGRATIONS_TABLE } from '../../deploy/migrate.js';

/** Every migration in the folder, in order, as the runner names them. */
function migrationFiles(): string[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => f.replace(/\.sql$/, ''));
}

const databaseUrl = process.env.DATABASE_URL as string;

/** The schema the functions rely on (PRODUCT.md / the migrations). */
const TABLES = [
  'plan_limits',
  'orgs',
  'api_keys',
  'usage_quotas',
  'pipeline_runs',
  'llm_prices',
  'subscriptions',
  'integrations',
  'idempotency_keys',
  'org_load_locks',
  'budgets',
  'budget_alerts',
  'budget_alert_attempts',
  'webhook_secrets',
];

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function tablesIn(url: string): Promise<string[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    );
    return rows.map((r) => r.table_name).sort();
  });
}

async function appliedMigrations(url: string): Promise<string[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY id`);
    return rows.map((r) => r.name);
  });
}

/** A fresh, empty database on the same server (dropped after the file), or undefined without CREATEDB. */
const created: string[] = [];
async function freshDatabase(): Promise<string | undefined> {
  const name = `deploy_migrate_${randomBytes(4).toString('hex')}`;
  try {
    await withClient(databaseUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  } catch {
    return undefined;
  }
  created.push(name);
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

afterAll(async () => {
  await withClient(databaseUrl, async (client) => {
    for (const name of created) await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
});

describe('migrate', () => {
  it('has created every table the functions rely on', async () => {
    const tables = await tablesIn(databaseUrl);

    expect(tables).toEqual(expect.arrayContaining([...TABLES, MIGRATIONS_TABLE]));
  });

  it('seeds the plan limits', async () => {
    const rows = await withClient(databaseUrl, async (client) => {
      const result = await client.query<{ plan: string; daily_pipeline_runs: number; concurrent_pipelines: number }>(
        'SELECT plan, daily_pipeline_runs, concurrent_pipelines FROM plan_limits ORDER BY plan',
      );
      return result.rows;
    });

    expect(rows).toEqual([
      { plan: 'enterprise', daily_pipeline_runs: 1000, concurrent_pipelines: 10 },
      { plan: 'free', daily_pipeline_runs: 10, concurrent_pipelines: 1 },
      { plan: 'pro', daily_pipeline_runs: 100, concurrent_pipelines: 3 },
    ]);
  });

  it('does nothing when run again on a migrated database', async () => {
    const before = await appliedMigrations(databaseUrl);
    const lines: string[] = [];

    await migrate(databaseUrl, { log: (line) => lines.push(line) });

    expect(await appliedMigrations(databaseUrl)).toEqual(before);
    expect(lines).toContain('No migrations to run!');
  });

  it('does not fail when two callers migrate the same database at once', async () => {
    await expect(Promise.all([migrate(databaseUrl), migrate(databaseUrl)])).resolves.toEqual([undefined, undefined]);
  });

  it('migrates an empty database exactly once when three callers race', async (ctx) => {
    const url = await freshDatabase();
    if (url === undefined) ctx.skip('the test user cannot CREATE DATABASE');

    await Promise.all([migrate(url as string), migrate(url as string), migrate(url as string)]);

    expect(await tablesIn(url as string)).toEqual([...TABLES, MIGRATIONS_TABLE].sort());
    expect(await appliedMigrations(url as string)).toEqual(migrationFiles());
  });

  it('rolls the first migration back to an empty schema with its Down section', async (ctx) => {
    const url = await freshDatabase();
    if (url === undefined) ctx.skip('the test user cannot CREATE DATABASE');
    await migrate(url as string);

    await runner({
      databaseUrl: url as string,
      dir: MIGRATIONS_DIR,
      migrationsTable: MIGRATIONS_TABLE,
      direction: 'down',
      count: Infinity,
      singleTransaction: true,
      log: () => undefined,
    });

    expect(await tablesIn(url as string)).toEqual([MIGRATIONS_TABLE]);
  });
});

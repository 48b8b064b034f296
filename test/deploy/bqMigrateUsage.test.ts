/**
 * `bq:migrate-usage` against a local BigQuery endpoint started here and the run's real
 * PostgreSQL: an org dataset whose `llm_usage_daily` still has the 10 original columns and
 * four legacy rows (the demo seed's, a real openai run's, an anthropic row loaded by a
 * recorded demo run, a google row of the old demo) is reported by a dry run that changes
 * nothing, migrated by --execute (columns added, billed table created, every row
 * backfilled as specified), and left alone by a second --execute; a run is refused while
 * another holds the lock.
 */
import { randomBytes } from 'node:crypto';
import { BigQuery, type TableMetadata } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { centralDataset, ensureDatasetDefinition, LLM_BILLED_COST_DAILY, LLM_USAGE_DAILY, orgDataset } from '../../shared/analytics/index.js';
import { createPool, type Db } from '../../shared/db/index.js';
import { MigrationLock } from '../../deploy/bigquery/migrateLock.js';
import { parseBqMigrateUsageArgs, runBqMigrateUsage, type BqMigrateUsageArgs } from '../../deploy/bqMigrateUsage.js';
import { localBigQueryOptions, startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import { databaseUrl } from '../fixtures/runtime/postgres.js';

// The database is shared with the other test files: a slug of our own.
const SLUG = `usage_mig_${randomBytes(4).toString('hex')}`;
const ORG = `org_${SLUG}`;
/** An org onboarded after the change: already in shape. */
const FRESH_SLUG = `usage_new_${randomBytes(4).toString('hex')}`;
const USAGE = LLM_USAGE_DAILY.tableId;
const BILLED = LLM_BILLED_COST_DAILY.tableId;
/** The 10 columns `llm_usage_daily` had before per-class pricing. */
const OLD_COLUMNS = ['usage_date', 'org_slug', 'provider', 'model', 'requests', 'input_tokens', 'output_tokens', 'cost_usd', 'pipeline_run_id', 'loaded_at'];
const NEW_COLUMNS = LLM_USAGE_DAILY.fields.map((f) => f.name).filter((n) => !OLD_COLUMNS.includes(n));

let endpoint: BigQueryEndpoint;
let bq: BigQuery;
let db: Db;
let orgId: string;
let demoRunId: string;
let openaiRunId: string;

beforeAll(async () => {
  endpoint = await startBigQueryEndpoint({ port: 0 });
  bq = new BigQuery(localBigQueryOptions(endpoint.url));
  db = await createPool({ connectionString: databaseUrl(), applicationName: 'bq-migrate-usage-test', max: 1 });

  // PostgreSQL: the org, one demo run and one openai run.
  orgId = (
    await db.query<{ id: string }>(`INSERT INTO orgs (org_slug, name, plan, admin_email, status) VALUES ($1, 'Usage Migration', 'free', 'ops@example.com', 'active') RETURNING id`, [SLUG])
  ).rows[0]!.id;
  const run = async (pipelineId: string): Promise<string> =>
    (
      await db.query<{ id: string }>(
        `INSERT INTO pipeline_runs (org_id, pipeline_id, run_date, status, rows_loaded, finished_at) VALUES ($1, $2, DATE '2026-10-02', 'succeeded', 1, now()) RETURNING id::text AS id`,
        [orgId, pipelineId],
      )
    ).rows[0]!.id;
  demoRunId = await run('demo_usage_daily');
  openaiRunId = await run('openai_usage_daily');

  // BigQuery: the central dataset (it holds the lock), an org dataset as it was before
  // per-class pricing, and one already in shape.
  await ensureDatasetDefinition(bq, centralDataset(), { location: 'US' });
  await bq.createDataset(ORG, { location: 'US', labels: { org: SLUG, managed_by: 'cloudact' } });
  await bq.dataset(ORG).createTable(USAGE, {
    description: LLM_USAGE_DAILY.description,
    labels: { org: SLUG, managed_by: 'cloudact' },
    schema: { fields: LLM_USAGE_DAILY.fields.filter((f) => OLD_COLUMNS.includes(f.name)).map((f) => ({ name: f.name, type: f.type, mode: f.mode, description: f.description })) },
    timePartitioning: { type: 'DAY', field: 'usage_date' },
    clustering: { fields: ['provider', 'model'] },
    requirePartitionFilter: true,
  });
  await bq.query({
    query: `INSERT INTO \`${ORG}.${USAGE}\` (usage_date, org_slug, provider, model, requests, input_tokens, output_tokens, cost_usd, pipeline_run_id, loaded_at) VALUES
  (DATE '2026-10-01', @slug, 'openai', 'gpt-4o-mini', 10, 1000, 200, NUMERIC '0.00027', 'demo-seed', TIMESTAMP '2026-10-02 01:00:00+00'),
  (DATE '2026-10-02', @slug, 'openai', 'gpt-4o-2024-08-06', 20, 5000, 700, NUMERIC '0.0195', @openai_run, TIMESTAMP '2026-10-03 01:00:00+00'),
  (DATE '2026-10-02', @slug, 'anthropic', 'claude-sonnet-4-20250514', 30, 3000, 400, NUMERIC '0.015', @demo_run, TIMESTAMP '2026-10-03 01:00:00+00'),
  (DATE '2026-10-03', @slug, 'google', 'gemini-1.5-pro', 40, 2500, 300, NUMERIC '0', 'old-demo-run', TIMESTAMP '2026-10-04 01:00:00+00')`,
    params: { slug: SLUG, openai_run: openaiRunId, demo_run: demoRunId },
  });
  await ensureDatasetDefinition(bq, orgDataset(FRESH_SLUG), { location: 'US' });
});

afterAll(async () => {
  if (orgId !== undefined) await db.query('DELETE FROM orgs WHERE id = $1', [orgId]);
  await db?.close();
  await endpoint?.close();
});

async function meta(tableId: string): Promise<TableMetadata | undefined> {
  const [exists] = await bq.dataset(ORG).table(tableId).exists();
  if (!exists) return undefined;
  return (await bq.dataset(ORG).table(tableId).getMetadata())[0] as TableMetadata;
}

function columns(m: TableMetadata | undefined): string[] {
  return (m?.schema?.fields ?? []).map((f) => f.name ?? '');
}

/** The legacy columns of every row, as text: the backfill must not touch them. */
async function legacyRows(): Promise<unknown[]> {
  const [rows] = await bq.query(`SELECT CAST(usage_date AS STRING) AS usage_date, org_slug, provider, model, requests, input_tokens, output_tokens, CAST(cost_usd AS STRING) AS cost_usd, pipeline_run_id, UNIX_MICROS(loaded_at) AS loaded_at
FROM \`${ORG}.${USAGE}\` WHERE usage_date >= DATE '1900-01-01' ORDER BY requests`);
  return rows as unknown[];
}

/** The backfilled columns of every row, by provider. */
async function backfilledRows(): Promise<Record<string, unknown>> {
  const [rows] = await bq.query(`SELECT provider, ${NEW_COLUMNS.join(', ')} FROM \`${ORG}.${USAGE}\` WHERE usage_date >= DATE '1900-01-01' ORDER BY requests`);
  return Object.fromEntries((rows as { provider: string }[]).map(({ provider, ...rest }) => [provider === 'openai' ? `openai ${String((rest as { source: unknown }).source)}` : provider, rest]));
}

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runBqMigrateUsage(argv, { bigquery: bq, db, out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

function lineOf(out: string[], datasetId = ORG): string {
  return out.find((l) => l.startsWith(`${datasetId}:`)) ?? '';
}

describe('bq:migrate-usage', () => {
  let original: unknown[];

  beforeAll(async () => {
    original = await legacyRows();
  });

  it.each<[string[], BqMigrateUsageArgs | string]>([
    [[], { mode: 'dry-run' }],
    [['--dry-run'], { mode: 'dry-run' }],
    [['--execute'], { mode: 'execute' }],
    [['--execute', '--dataset', 'org_acme'], { mode: 'execute', dataset: 'org_acme' }],
    [['--dataset', 'org_acme', '--dry-run'], { mode: 'dry-run', dataset: 'org_acme' }],
    [['--execute', '--dry-run'], 'choose one of --dry-run, --execute'],
    [['--dataset'], '--dataset needs a name'],
    [['--dataset', '--execute'], '--dataset needs a name'],
    [['--dataset', 'cloudact_meta'], 'cloudact_meta is not an org dataset'],
    [['--dataset', 'org_A-B'], 'org_A-B is not an org dataset'],
    [['--rollback'], 'unknown argument --rollback'],
  ])('parses %j', (argv, expected) => {
    if (typeof expected === 'string') expect(() => parseBqMigrateUsageArgs(argv)).toThrow(expected);
    else expect(parseBqMigrateUsageArgs(argv)).toEqual(expected);
  });

  it('exits 2 with the usage line on a bad argument, touching nothing', async () => {
    const { code, out, err } = await run('--execute', '--table', USAGE);
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err.join('\n')).toContain('usage: bq:migrate-usage [--dry-run | --execute] [--dataset org_<slug>]');
  });

  it('dry run: reports the columns to add, the table to create and 4 legacy rows (3 demo, 1 provider) with the bytes, and changes nothing', async () => {
    const before = await meta(USAGE);
    const { code, out, err } = await run('--dry-run');
    console.log(out.join('\n'));
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const line = lineOf(out);
    expect(line).toContain(`would create ${BILLED}`);
    expect(line).toContain(`would add 14 columns to ${USAGE} (${NEW_COLUMNS.join(', ')})`);
    expect(line).toContain('4 legacy rows to backfill (3 demo, 1 provider (openai_usage_daily 1))');
    // Only the columns the backfill reads are billed (the local dry run counts them as BigQuery does), so it can be under 1 KiB.
    expect(line).toMatch(/the backfill UPDATE would process about (\d+ B|[\d.]+ KiB \(\d+ bytes\))/);
    expect(lineOf(out, `org_${FRESH_SLUG}`)).toBe(`org_${FRESH_SLUG}: up to date (nothing to do)`);
    expect(out.at(-1)).toBe('Dry run: 1 dataset to migrate (4 legacy rows to backfill), 1 up to date. Nothing was changed; run with --execute to apply.');

    const after = await meta(USAGE);
    expect(columns(after)).toEqual(OLD_COLUMNS);
    expect(after?.lastModifiedTime).toBe(before?.lastModifiedTime);
    expect(await meta(BILLED)).toBeUndefined();
    expect(await legacyRows()).toEqual(original);
  });

  it('refuses to execute while another run holds the lock', async () => {
    const lock = await MigrationLock.acquire(bq, 'cloudact_meta');
    try {
      const { code, err } = await run('--execute');
      expect(code).toBe(1);
      expect(err.join('\n')).toContain('another bq:migrate run holds the lock');
      expect(columns(await meta(USAGE))).toEqual(OLD_COLUMNS);
    } finally {
      await lock.release();
    }
  });

  it('execute: adds the columns, creates the billed table and backfills every legacy row as specified', async () => {
    const { code, out, err } = await run('--execute');
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const line = lineOf(out);
    expect(line).toContain(`created ${BILLED}`);
    expect(line).toContain(`added 14 columns to ${USAGE}`);
    expect(line).toContain('backfilled 4 legacy rows (3 demo, 1 provider (openai_usage_daily 1))');
    expect(out.at(-1)).toBe('Done: 1 dataset migrated (4 legacy rows backfilled), 1 up to date.');

    const usage = (await meta(USAGE)) as TableMetadata;
    expect(columns(usage)).toEqual(LLM_USAGE_DAILY.fields.map((f) => f.name));
    expect(usage.timePartitioning).toMatchObject({ type: 'DAY', field: 'usage_date' });
    const billed = (await meta(BILLED)) as TableMetadata;
    expect(columns(billed)).toEqual(LLM_BILLED_COST_DAILY.fields.map((f) => f.name));
    expect(billed.timePartitioning).toMatchObject({ type: 'DAY', field: 'usage_date' });
    expect(billed.clustering).toEqual({ fields: ['provider', 'source'] });
    expect(billed.requirePartitionFilter).toBe(true);

    expect(await legacyRows()).toEqual(original);
    const classes = { tokens_input_cached: 0, tokens_cache_write_5m: 0, tokens_cache_write_1h: 0, tokens_input_audio: 0, tokens_output_audio: 0, tokens_input_image: 0 };
    const grain = { service_tier: 'standard', project_id: null, api_key_id: null, price_entry: null };
    expect(await backfilledRows()).toEqual({
      // The local demo seed.
      'openai demo_usage_daily': { ...grain, ...classes, source: 'demo_usage_daily', tokens_input_uncached: 1000, tokens_output: 200, unpriced_tokens: 0 },
      // A real openai run.
      'openai openai_usage_daily': { ...grain, ...classes, source: 'openai_usage_daily', tokens_input_uncached: 5000, tokens_output: 700, unpriced_tokens: 0 },
      // Anthropic, but loaded by a demo_usage_daily run recorded in pipeline_runs.
      anthropic: { ...grain, ...classes, source: 'demo_usage_daily', tokens_input_uncached: 3000, tokens_output: 400, unpriced_tokens: 0 },
      // Only the old demo produced google rows; priced at 0, so every token is unpriced.
      google: { ...grain, ...classes, source: 'demo_usage_daily', tokens_input_uncached: 2500, tokens_output: 300, unpriced_tokens: 2800 },
    });
    const [lockExists] = await bq.dataset('cloudact_meta').table('__bqmigrate_lock').exists();
    expect(lockExists).toBe(false);
  });

  it('a row the old code loads afterwards is found by a dry run of the UPDATE itself and backfilled by the next execute', async () => {
    await bq.query({
      query: `INSERT INTO \`${ORG}.${USAGE}\` (usage_date, org_slug, provider, model, requests, input_tokens, output_tokens, cost_usd, pipeline_run_id, loaded_at)
VALUES (DATE '2026-10-04', @slug, 'anthropic', 'claude-3-5-haiku-20241022', 50, 800, 100, NUMERIC '0', NULL, TIMESTAMP '2026-10-05 01:00:00+00')`,
      params: { slug: SLUG },
    });

    const dry = await run('--dataset', ORG);
    expect(dry.code).toBe(0);
    expect(lineOf(dry.out)).toMatch(
      new RegExp(`^${ORG}: 1 legacy row to backfill \\(0 demo, 1 provider \\(anthropic_usage_daily 1\\)\\); the backfill UPDATE would process [\\d.]+ KiB \\(\\d+ bytes\\) \\(dry run of the UPDATE\\)$`),
    );

    const { code, out } = await run('--execute', '--dataset', ORG);
    expect(code).toBe(0);
    expect(lineOf(out)).toBe(`${ORG}: backfilled 1 legacy row (0 demo, 1 provider (anthropic_usage_daily 1))`);
    const [rows] = await bq.query(`SELECT source, service_tier, tokens_input_uncached, tokens_output, unpriced_tokens FROM \`${ORG}.${USAGE}\` WHERE usage_date = DATE '2026-10-04'`);
    expect(rows).toEqual([{ source: 'anthropic_usage_daily', service_tier: 'standard', tokens_input_uncached: 800, tokens_output: 100, unpriced_tokens: 900 }]);
    original = await legacyRows();
  });

  it('a second execute finds nothing to do and changes nothing', async () => {
    const before = await meta(USAGE);
    const rows = await backfilledRows();
    const { code, out } = await run('--execute', '--dataset', ORG);
    expect(code).toBe(0);
    expect(out).toEqual([`${ORG}: up to date (nothing to do)`, 'Done: 0 datasets migrated (0 legacy rows backfilled), 1 up to date.']);
    expect((await meta(USAGE))?.lastModifiedTime).toBe(before?.lastModifiedTime);
    expect(await backfilledRows()).toEqual(rows);
    expect(await legacyRows()).toEqual(original);
  });

  it('a table whose partitioning cannot be patched is reported by a dry run and stops --execute, pointing at bq:migrate', async () => {
    const slug = `usage_old_${randomBytes(4).toString('hex')}`;
    const datasetId = `org_${slug}`;
    await bq.createDataset(datasetId, { location: 'US', labels: { org: slug, managed_by: 'cloudact' } });
    try {
      await bq.dataset(datasetId).createTable(USAGE, {
        schema: { fields: LLM_USAGE_DAILY.fields.filter((f) => OLD_COLUMNS.includes(f.name)).map((f) => ({ name: f.name, type: f.type, mode: f.mode })) },
      });

      const dry = await run('--dataset', datasetId);
      expect(dry.code).toBe(0);
      expect(lineOf(dry.out, datasetId)).toContain(`cannot be patched in place — ${USAGE}: partitioning is none, expected DAY on usage_date`);
      expect(dry.out.at(-1)).toContain('1 needing bq:migrate first');

      const { code, err } = await run('--execute', '--dataset', datasetId);
      expect(code).toBe(1);
      expect(err.join('\n')).toContain(`Run \`npm run bq:migrate -- --execute --dataset ${datasetId}\` first`);
      const [tables] = await bq.dataset(datasetId).getTables();
      expect(tables.map((t) => t.id)).toEqual([USAGE]);
    } finally {
      await bq.dataset(datasetId).delete({ force: true });
    }
  });
});

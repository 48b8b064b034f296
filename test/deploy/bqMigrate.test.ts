/**
 * `bq:migrate` against a local BigQuery endpoint started here, through the real client:
 * an unpartitioned, unclustered table holding rows is reported by a dry run (which changes
 * nothing), rebuilt by --execute with the defined layout and the same rows, skipped by a
 * second --execute, and restored by --rollback; a run is refused while another holds the
 * lock, and an interrupted swap is finished by re-running --execute.
 */
import { BigQuery, type TableMetadata } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { centralDataset, ensureDatasetDefinition, LLM_USAGE_DAILY } from '../../shared/analytics/index.js';
import { MigrationLock } from '../../deploy/bigquery/migrateLock.js';
import { parseBqMigrateArgs, runBqMigrate } from '../../deploy/bqMigrate.js';
import { localBigQueryOptions, startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import { comparable } from '../dev/bigquery/conformance.js';

let endpoint: BigQueryEndpoint;
let bq: BigQuery;
const ORG = 'org_acme';
const TABLE = LLM_USAGE_DAILY.tableId;

beforeAll(async () => {
  endpoint = await startBigQueryEndpoint({ port: 0 });
  bq = new BigQuery(localBigQueryOptions(endpoint.url));
  // The central dataset as defined (already in shape), and an org table from before partitioning existed.
  await ensureDatasetDefinition(bq, centralDataset(), { location: 'US' });
  await bq.createDataset(ORG, { labels: { org: 'acme', managed_by: 'cloudact' } });
  await bq.dataset(ORG).createTable(TABLE, {
    description: LLM_USAGE_DAILY.description,
    labels: { managed_by: 'cloudact' },
    schema: { fields: LLM_USAGE_DAILY.fields.map((f) => ({ name: f.name, type: f.type, mode: f.mode, description: f.description })) },
  });
  await bq.query(`INSERT INTO \`${ORG}.${TABLE}\` (usage_date, org_slug, provider, model, requests, input_tokens, output_tokens, cost_usd, pipeline_run_id, loaded_at)
SELECT DATE_ADD(DATE '2024-03-01', INTERVAL MOD(x, 30) DAY), 'acme', IF(MOD(x, 2) = 0, 'openai', 'anthropic'), CONCAT('model-', CAST(MOD(x, 7) AS STRING)),
  x, x * 100, x * 10, CAST(x AS NUMERIC) / 1000, IF(MOD(x, 5) = 0, NULL, CONCAT('run-', CAST(x AS STRING))), TIMESTAMP_ADD(TIMESTAMP '2024-04-01 00:00:00+00', INTERVAL x SECOND)
FROM UNNEST(GENERATE_ARRAY(1, 600)) AS x`);
});

afterAll(async () => {
  await endpoint?.close();
});

async function meta(tableId = TABLE): Promise<TableMetadata | undefined> {
  const [exists] = await bq.dataset(ORG).table(tableId).exists();
  if (!exists) return undefined;
  return (await bq.dataset(ORG).table(tableId).getMetadata())[0] as TableMetadata;
}

/** Row count plus sums and an ordered concatenation over every column: equal checksums mean equal rows. */
async function checksum(): Promise<unknown> {
  const [rows] = await bq.query(`SELECT COUNT(*) AS n, SUM(requests) AS r, SUM(input_tokens) AS i, SUM(output_tokens) AS o, SUM(cost_usd) AS c,
  MIN(loaded_at) AS lmin, MAX(loaded_at) AS lmax, COUNTIF(pipeline_run_id IS NULL) AS null_run_ids,
  STRING_AGG(CONCAT(CAST(usage_date AS STRING), org_slug, provider, model, CAST(requests AS STRING), CAST(cost_usd AS STRING), IFNULL(pipeline_run_id, '-')), ',' ORDER BY requests) AS s
FROM \`${ORG}.${TABLE}\` WHERE usage_date >= '2000-01-01'`);
  return comparable(rows);
}

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runBqMigrate(argv, { bigquery: bq, out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('bq:migrate', () => {
  let original: unknown;

  beforeAll(async () => {
    original = await checksum();
  });

  it('parses its flags, --dry-run by default', () => {
    expect(parseBqMigrateArgs([])).toEqual({ mode: 'dry-run' });
    expect(parseBqMigrateArgs(['--execute', '--dataset', 'org_acme', '--table', 'llm_usage_daily'])).toEqual({ mode: 'execute', dataset: 'org_acme', table: 'llm_usage_daily' });
    expect(() => parseBqMigrateArgs(['--execute', '--rollback'])).toThrow('choose one');
    expect(() => parseBqMigrateArgs(['--dataset'])).toThrow('needs a name');
  });

  it('dry run: reports the change and the bytes a rebuild would process, and changes nothing', async () => {
    const before = await meta();
    const { code, out } = await run('--dry-run');
    console.log(out.join('\n'));
    expect(code).toBe(0);
    const line = out.find((l) => l.startsWith(`${ORG}.${TABLE}:`));
    expect(line).toContain('would rebuild');
    expect(line).toContain('partitioning none -> DAY(usage_date)');
    expect(line).toContain('clustering none -> provider, model');
    expect(line).toContain('require_partition_filter false -> true');
    expect(line).toMatch(/600 rows; the rebuild would process [\d.]+ KiB \(\d+ bytes\)/);
    expect(out).toContain('cloudact_meta.org_audit_logs: up to date (skipped)');
    const after = await meta();
    expect(after?.timePartitioning).toBeUndefined();
    expect(after?.clustering).toBeUndefined();
    expect(after?.lastModifiedTime).toBe(before?.lastModifiedTime);
    expect(await meta(`${TABLE}__bqmigrate_backup`)).toBeUndefined();
    expect(await checksum()).toEqual(original);
  });

  it('refuses to run while another run holds the lock', async () => {
    const lock = await MigrationLock.acquire(bq, 'cloudact_meta');
    try {
      const { code, err } = await run('--execute');
      expect(code).toBe(1);
      expect(err.join('\n')).toContain('another bq:migrate run holds the lock');
      expect((await meta())?.timePartitioning).toBeUndefined();
    } finally {
      await lock.release();
    }
  });

  it('execute: the defined layout with the same rows, schema and labels; the backup is kept', async () => {
    const before = await meta();
    const { code, out, err } = await run('--execute');
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out.join('\n')).toContain(`${ORG}.${TABLE}: rebuilt`);
    const after = (await meta()) as TableMetadata;
    expect(after.timePartitioning).toMatchObject({ type: 'DAY', field: 'usage_date' });
    expect(after.clustering).toEqual({ fields: ['provider', 'model'] });
    expect(after.requirePartitionFilter).toBe(true);
    expect(after.schema).toEqual(before?.schema);
    expect(after.labels).toEqual(before?.labels);
    expect(after.description).toBe(before?.description);
    expect(await checksum()).toEqual(original);
    const backup = await meta(`${TABLE}__bqmigrate_backup`);
    expect(backup?.numRows).toBe('600');
    expect(backup?.timePartitioning).toBeUndefined();
    expect(await meta(`${TABLE}__bqmigrate_new`)).toBeUndefined();
    const [lockExists] = await bq.dataset('cloudact_meta').table('__bqmigrate_lock').exists();
    expect(lockExists).toBe(false);
  });

  it('a second execute has nothing to do', async () => {
    const before = await meta();
    const { code, out } = await run('--execute');
    expect(code).toBe(0);
    expect(out).toContain(`${ORG}.${TABLE}: up to date (skipped)`);
    expect((await meta())?.lastModifiedTime).toBe(before?.lastModifiedTime);
  });

  it('rollback restores the original layout and rows', async () => {
    const { code, out } = await run('--rollback', '--dataset', ORG);
    expect(code).toBe(0);
    expect(out.join('\n')).toContain(`${ORG}.${TABLE}: restored from backup (600 rows)`);
    const after = (await meta()) as TableMetadata;
    expect(after.timePartitioning).toBeUndefined();
    expect(after.clustering).toBeUndefined();
    expect(after.requirePartitionFilter).toBeFalsy();
    expect(await checksum()).toEqual(original);
    expect(await meta(`${TABLE}__bqmigrate_backup`)).toBeUndefined();
  });

  it('an execute interrupted between dropping the table and renaming the rebuild is finished by the next execute', async () => {
    // The state a crash right after `DROP TABLE` leaves: backup and rebuild exist, the table does not.
    await bq.dataset(ORG).table(TABLE).copy(bq.dataset(ORG).table(`${TABLE}__bqmigrate_backup`));
    await bq.query(`CREATE TABLE \`${ORG}.${TABLE}__bqmigrate_new\` PARTITION BY usage_date CLUSTER BY provider, model OPTIONS(require_partition_filter=TRUE) AS SELECT * FROM \`${ORG}.${TABLE}\``);
    await bq.query(`DROP TABLE \`${ORG}.${TABLE}\``);
    const { code, out } = await run('--execute', '--table', TABLE);
    expect(code).toBe(0);
    expect(out.join('\n')).toContain('finished an interrupted swap (600 rows)');
    expect((await meta())?.timePartitioning).toMatchObject({ type: 'DAY', field: 'usage_date' });
    expect(await checksum()).toEqual(original);
  });
});

/**
 * `bq:migrate` against a local BigQuery endpoint started here, through the real client. The
 * endpoint enforces `require_partition_filter` as BigQuery does, so every statement the
 * migration runs — counts, dry runs, comparisons, the rebuild from a backup that itself
 * requires a filter — must carry one.
 *
 * - A dry run reports each change and changes nothing; a run is refused while another holds
 *   the lock; --execute rebuilds with the defined layout and the same rows, labels each
 *   backup with its run; a second --execute has nothing to do.
 * - --rollback undoes the latest run only, leaving other runs' tables and backups alone;
 *   --rollback --run ID undoes an earlier one and carries over the rows written after the
 *   migration (appended rows kept, a replaced day not brought back), naming table and rows.
 * - A write between backup and swap that keeps the row count (one row deleted, another
 *   inserted) stops the run and leaves the table as it was.
 * - A rollback that could only lose rows (a backup layout no query can rebuild) refuses,
 *   naming table and rows, and changes nothing.
 * - An execute interrupted between dropping the table and renaming the rebuild is finished
 *   by the next execute.
 */
import { BigQuery, type TableMetadata } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { centralDataset, ensureDatasetDefinition, LLM_BILLED_COST_DAILY, LLM_USAGE_DAILY } from '../../shared/analytics/index.js';
import { migrateTables } from '../../deploy/bigquery/migrate.js';
import { MigrationLock } from '../../deploy/bigquery/migrateLock.js';
import { parseBqMigrateArgs, runBqMigrate } from '../../deploy/bqMigrate.js';
import { localBigQueryOptions, startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import { comparable, rejectionOf } from '../dev/bigquery/conformance.js';

let endpoint: BigQueryEndpoint;
let bq: BigQuery;
const USAGE = LLM_USAGE_DAILY.tableId;
const BILLED = LLM_BILLED_COST_DAILY.tableId;
const BACKUP = '__bqmigrate_backup';

const fieldsOf = (def: typeof LLM_USAGE_DAILY): TableMetadata['schema'] => ({
  fields: def.fields.map((f) => ({ name: f.name, type: f.type, mode: f.mode, description: f.description })),
});

/** An org dataset with `llm_usage_daily` from before partitioning existed, holding `n` rows. */
async function legacyUsageTable(datasetId: string, n: number, layout: Partial<TableMetadata> = {}): Promise<void> {
  await bq.createDataset(datasetId, { labels: { org: datasetId.slice(4), managed_by: 'cloudact' } });
  await bq.dataset(datasetId).createTable(USAGE, { description: LLM_USAGE_DAILY.description, labels: { managed_by: 'cloudact' }, schema: fieldsOf(LLM_USAGE_DAILY), ...layout });
  await bq.query(`INSERT INTO \`${datasetId}.${USAGE}\` (usage_date, org_slug, provider, model, requests, input_tokens, output_tokens, cost_usd, pipeline_run_id, loaded_at)
SELECT DATE_ADD(DATE '2024-03-01', INTERVAL MOD(x, 30) DAY), 'acme', IF(MOD(x, 2) = 0, 'openai', 'anthropic'), CONCAT('model-', CAST(MOD(x, 7) AS STRING)),
  x, x * 100, x * 10, CAST(x AS NUMERIC) / 1000, IF(MOD(x, 5) = 0, NULL, CONCAT('run-', CAST(x AS STRING))), TIMESTAMP_ADD(TIMESTAMP '2024-04-01 00:00:00+00', INTERVAL x SECOND)
FROM UNNEST(GENERATE_ARRAY(1, ${n})) AS x`);
}

/** Appends usage rows `from..to` (requests = x), loaded on `loadedAt`. */
async function appendUsage(datasetId: string, from: number, to: number, day: string, loadedAt: string): Promise<void> {
  await bq.query(`INSERT INTO \`${datasetId}.${USAGE}\` (usage_date, org_slug, provider, model, requests, input_tokens, output_tokens, cost_usd, pipeline_run_id, loaded_at)
SELECT DATE '${day}', 'acme', 'openai', 'model-new', x, x, x, CAST(x AS NUMERIC) / 1000, 'run-after', TIMESTAMP '${loadedAt}'
FROM UNNEST(GENERATE_ARRAY(${from}, ${to})) AS x`);
}

beforeAll(async () => {
  endpoint = await startBigQueryEndpoint({ port: 0 });
  bq = new BigQuery(localBigQueryOptions(endpoint.url));
  // The central dataset as defined (already in shape); org_acme's usage table from before partitioning
  // existed, and its billed table partitioned and requiring a partition filter, but not yet clustered.
  await ensureDatasetDefinition(bq, centralDataset(), { location: 'US' });
  await legacyUsageTable('org_acme', 600);
  await bq.dataset('org_acme').createTable(BILLED, {
    description: LLM_BILLED_COST_DAILY.description,
    schema: fieldsOf(LLM_BILLED_COST_DAILY),
    timePartitioning: { type: 'DAY', field: 'usage_date' },
    requirePartitionFilter: true,
  });
  await bq.query(`INSERT INTO \`org_acme.${BILLED}\` (usage_date, org_slug, provider, source, model, billed_cost_usd, loaded_at)
SELECT DATE_ADD(DATE '2024-03-01', INTERVAL x DAY), 'acme', 'openai', 'openai_usage_daily', 'gpt-4o', CAST(x AS NUMERIC), TIMESTAMP '2024-04-01 00:00:00+00'
FROM UNNEST(GENERATE_ARRAY(1, 10)) AS x`);
});

afterAll(async () => {
  await endpoint?.close();
});

async function meta(datasetId: string, tableId: string): Promise<TableMetadata | undefined> {
  const [exists] = await bq.dataset(datasetId).table(tableId).exists();
  if (!exists) return undefined;
  return (await bq.dataset(datasetId).table(tableId).getMetadata())[0] as TableMetadata;
}

/** Row count plus sums and an ordered concatenation over every column: equal checksums mean equal rows. */
async function usageChecksum(datasetId: string): Promise<unknown> {
  const [rows] = await bq.query(`SELECT COUNT(*) AS n, SUM(requests) AS r, SUM(input_tokens) AS i, SUM(output_tokens) AS o, SUM(cost_usd) AS c,
  MIN(loaded_at) AS lmin, MAX(loaded_at) AS lmax, COUNTIF(pipeline_run_id IS NULL) AS null_run_ids,
  STRING_AGG(CONCAT(CAST(usage_date AS STRING), org_slug, provider, model, CAST(requests AS STRING), CAST(cost_usd AS STRING), IFNULL(pipeline_run_id, '-')), ',' ORDER BY requests) AS s
FROM \`${datasetId}.${USAGE}\` WHERE usage_date >= '2000-01-01'`);
  return comparable(rows);
}

async function billedChecksum(): Promise<unknown> {
  const [rows] = await bq.query(`SELECT COUNT(*) AS n, SUM(billed_cost_usd) AS c, STRING_AGG(CAST(usage_date AS STRING), ',' ORDER BY usage_date) AS s
FROM \`org_acme.${BILLED}\` WHERE usage_date >= '2000-01-01'`);
  return comparable(rows);
}

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runBqMigrate(argv, { bigquery: bq, out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

/** The run id an --execute printed. */
function runIdOf(out: string[]): string {
  const id = /Done, run ([a-z0-9_-]+):/.exec(out.join('\n'))?.[1];
  if (id === undefined) throw new Error(`no run id in:\n${out.join('\n')}`);
  return id;
}

describe('bq:migrate', () => {
  let original: unknown;
  let originalBilled: unknown;
  let runA: string;
  let runB: string;

  beforeAll(async () => {
    original = await usageChecksum('org_acme');
    originalBilled = await billedChecksum();
  });

  it('parses its flags, --dry-run by default', () => {
    expect(parseBqMigrateArgs([])).toEqual({ mode: 'dry-run' });
    expect(parseBqMigrateArgs(['--execute', '--dataset', 'org_acme', '--table', 'llm_usage_daily'])).toEqual({ mode: 'execute', dataset: 'org_acme', table: 'llm_usage_daily' });
    expect(parseBqMigrateArgs(['--rollback', '--run', '20261205t101112z-1a2b3c4d'])).toEqual({ mode: 'rollback', run: '20261205t101112z-1a2b3c4d' });
    expect(() => parseBqMigrateArgs(['--execute', '--rollback'])).toThrow('choose one');
    expect(() => parseBqMigrateArgs(['--dataset'])).toThrow('needs a name');
    expect(() => parseBqMigrateArgs(['--execute', '--run', 'x'])).toThrow('--run goes with --rollback');
    expect(() => parseBqMigrateArgs(['--rollback', '--run', 'Not An Id'])).toThrow('--run needs a run id');
  });

  it('dry run: reports the change and the bytes a rebuild would process (a partition filter where the table requires one), and changes nothing', async () => {
    const before = await meta('org_acme', USAGE);
    const { code, out } = await run('--dry-run');
    expect(code).toBe(0);
    const line = out.find((l) => l.startsWith(`org_acme.${USAGE}:`));
    expect(line).toContain('would rebuild');
    expect(line).toContain('partitioning none -> DAY(usage_date)');
    expect(line).toContain('clustering none -> provider, model');
    expect(line).toContain('require_partition_filter false -> true');
    expect(line).toMatch(/600 rows; the rebuild would process [\d.]+ KiB \(\d+ bytes\)/);
    // Already requires a partition filter: its count and dry run only work with one.
    expect(out.find((l) => l.startsWith(`org_acme.${BILLED}:`))).toMatch(/would rebuild — clustering none -> provider, source; 10 rows; the rebuild would process/);
    expect(out).toContain('cloudact_meta.org_audit_logs: up to date (skipped)');
    const after = await meta('org_acme', USAGE);
    expect(after?.timePartitioning).toBeUndefined();
    expect(after?.lastModifiedTime).toBe(before?.lastModifiedTime);
    expect(await meta('org_acme', `${USAGE}${BACKUP}`)).toBeUndefined();
    expect(await usageChecksum('org_acme')).toEqual(original);
  });

  it('refuses to run while another run holds the lock', async () => {
    const lock = await MigrationLock.acquire(bq, 'cloudact_meta');
    try {
      const { code, err } = await run('--execute');
      expect(code).toBe(1);
      expect(err.join('\n')).toContain('another bq:migrate run holds the lock');
      expect((await meta('org_acme', USAGE))?.timePartitioning).toBeUndefined();
    } finally {
      await lock.release();
    }
  });

  it('execute: the defined layout with the same rows, schema and labels; each backup kept and labelled with the run', async () => {
    const before = await meta('org_acme', USAGE);
    const { code, out, err } = await run('--execute', '--dataset', 'org_acme');
    expect(err).toEqual([]);
    expect(code).toBe(0);
    runA = runIdOf(out);
    expect(out.join('\n')).toContain(`org_acme.${USAGE}: rebuilt`);
    const after = (await meta('org_acme', USAGE)) as TableMetadata;
    expect(after.timePartitioning).toMatchObject({ type: 'DAY', field: 'usage_date' });
    expect(after.clustering).toEqual({ fields: ['provider', 'model'] });
    expect(after.requirePartitionFilter).toBe(true);
    expect(after.schema).toEqual(before?.schema);
    expect(after.labels).toEqual(before?.labels);
    expect(after.description).toBe(before?.description);
    expect(await usageChecksum('org_acme')).toEqual(original);
    const billed = (await meta('org_acme', BILLED)) as TableMetadata;
    expect(billed.clustering).toEqual({ fields: ['provider', 'source'] });
    expect(billed.requirePartitionFilter).toBe(true);
    expect(await billedChecksum()).toEqual(originalBilled);

    const backup = await meta('org_acme', `${USAGE}${BACKUP}`);
    expect(backup?.numRows).toBe('600');
    expect(backup?.timePartitioning).toBeUndefined();
    expect(backup?.labels).toEqual({ managed_by: 'cloudact', bqmigrate_run: runA });
    expect(backup?.description).toBe(before?.description);
    const billedBackup = await meta('org_acme', `${BILLED}${BACKUP}`);
    expect(billedBackup?.labels).toEqual({ bqmigrate_run: runA });
    expect(billedBackup?.requirePartitionFilter).toBe(true);
    expect(await meta('org_acme', `${USAGE}__bqmigrate_new`)).toBeUndefined();
    const [lockExists] = await bq.dataset('cloudact_meta').table('__bqmigrate_lock').exists();
    expect(lockExists).toBe(false);
    // The endpoint enforces the new table's requirement, as BigQuery would.
    const refused = await rejectionOf(() => bq.query(`SELECT COUNT(*) AS n FROM \`org_acme.${USAGE}\``));
    expect(refused.message).toContain(`Cannot query over table 'org_acme.${USAGE}' without a filter over column(s) 'usage_date' that can be used for partition elimination`);
  });

  it('a second execute has nothing to do', async () => {
    const before = await meta('org_acme', USAGE);
    const { code, out } = await run('--execute');
    expect(code).toBe(0);
    expect(out).toContain(`org_acme.${USAGE}: up to date (skipped)`);
    expect((await meta('org_acme', USAGE))?.lastModifiedTime).toBe(before?.lastModifiedTime);
  });

  it('rollback undoes the latest run only: an earlier run’s tables and backups are left alone', async () => {
    await legacyUsageTable('org_beta', 50);
    const beta = await usageChecksum('org_beta');
    const executed = await run('--execute', '--dataset', 'org_beta');
    expect(executed.code).toBe(0);
    runB = runIdOf(executed.out);
    expect(runB > runA).toBe(true);
    const acmeBefore = await meta('org_acme', USAGE);

    const { code, out } = await run('--rollback');
    expect(code).toBe(0);
    const text = out.join('\n');
    expect(text).toContain(`Rolled back run ${runB}: 1 restored from backup`);
    expect(text).toContain(`org_beta.${USAGE}: restored from backup (50 rows; nothing was written after the migration)`);
    expect(text).toContain(`org_acme.${USAGE}: its backup belongs to run ${runA}, not the one rolled back; left alone`);
    expect(text).toContain(`Backups of other runs left alone: ${runA}`);
    const betaAfter = (await meta('org_beta', USAGE)) as TableMetadata;
    expect(betaAfter.timePartitioning).toBeUndefined();
    expect(betaAfter.labels).toEqual({ managed_by: 'cloudact' });
    expect(betaAfter.description).toBe(LLM_USAGE_DAILY.description);
    expect(await usageChecksum('org_beta')).toEqual(beta);
    expect(await meta('org_beta', `${USAGE}${BACKUP}`)).toBeUndefined();
    // Run A's tables: untouched, backups kept.
    expect(await meta('org_acme', USAGE)).toEqual(acmeBefore);
    expect((await meta('org_acme', `${USAGE}${BACKUP}`))?.labels?.bqmigrate_run).toBe(runA);
    expect((await meta('org_acme', `${BILLED}${BACKUP}`))?.labels?.bqmigrate_run).toBe(runA);
  });

  it('rollback of an earlier run carries over the rows written after the migration, naming table and rows; a replaced day is not brought back', async () => {
    // After the migration: 3 rows appended, and the day 2024-03-05 (20 rows) replaced by 2, as a pipeline re-run does.
    await appendUsage('org_acme', 10_001, 10_003, '2024-03-20', '2024-06-01 12:00:00+00');
    await bq.query(`DELETE FROM \`org_acme.${USAGE}\` WHERE usage_date = '2024-03-05'`);
    await appendUsage('org_acme', 10_004, 10_005, '2024-03-05', '2024-06-02 08:00:00+00');
    const live = await usageChecksum('org_acme');
    expect((live as { n: number }[])[0]?.n).toBe(585);

    const { code, out, err } = await run('--rollback', '--run', runA);
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const text = out.join('\n');
    expect(text).toContain(
      `org_acme.${USAGE}: original layout restored around the table's 585 current rows, carrying over what changed after the migration: ` +
        '5 rows the backup does not have (loaded_at 2024-06-01 12:00:00+00 … 2024-06-02 08:00:00+00), 20 rows of the backup no longer in the table; backup removed',
    );
    expect(text).toContain(`org_acme.${BILLED}: restored from backup (10 rows; nothing was written after the migration)`);
    expect(text).toContain(`Rolled back run ${runA}: 1 restored from backup, 1 restored with rows written after the migration carried over, 0 refused.`);

    const usage = (await meta('org_acme', USAGE)) as TableMetadata;
    expect(usage.timePartitioning).toBeUndefined();
    expect(usage.clustering).toBeUndefined();
    expect(usage.requirePartitionFilter).toBeFalsy();
    expect(usage.labels).toEqual({ managed_by: 'cloudact' });
    expect(usage.description).toBe(LLM_USAGE_DAILY.description);
    expect(await usageChecksum('org_acme')).toEqual(live);
    const billed = (await meta('org_acme', BILLED)) as TableMetadata;
    expect(billed.timePartitioning).toMatchObject({ type: 'DAY', field: 'usage_date' });
    expect(billed.clustering).toBeUndefined();
    expect(billed.requirePartitionFilter).toBe(true);
    expect(billed.labels).toBeUndefined();
    expect(await billedChecksum()).toEqual(originalBilled);
    expect(await meta('org_acme', `${USAGE}${BACKUP}`)).toBeUndefined();
    expect(await meta('org_acme', `${BILLED}${BACKUP}`)).toBeUndefined();
  });

  it('an execute interrupted between dropping the table and renaming the rebuild is finished by the next execute', async () => {
    const before = await usageChecksum('org_acme');
    // The state a crash right after `DROP TABLE` leaves: backup and rebuild exist, the table does not.
    await bq.dataset('org_acme').table(USAGE).copy(bq.dataset('org_acme').table(`${USAGE}${BACKUP}`));
    await bq.query(`CREATE TABLE \`org_acme.${USAGE}__bqmigrate_new\` PARTITION BY usage_date CLUSTER BY provider, model OPTIONS(require_partition_filter=TRUE) AS SELECT * FROM \`org_acme.${USAGE}\``);
    await bq.query(`DROP TABLE \`org_acme.${USAGE}\``);
    const { code, out } = await run('--execute', '--dataset', 'org_acme', '--table', USAGE);
    expect(code).toBe(0);
    expect(out.join('\n')).toContain('finished an interrupted swap (585 rows)');
    expect((await meta('org_acme', USAGE))?.timePartitioning).toMatchObject({ type: 'DAY', field: 'usage_date' });
    expect(await usageChecksum('org_acme')).toEqual(before);
    // The run that finished the swap owns the backup now.
    expect((await meta('org_acme', `${USAGE}${BACKUP}`))?.labels?.bqmigrate_run).toBe(runIdOf(out));
  });
});

describe('bq:migrate: a write between backup and swap', () => {
  it('is detected even when it keeps the row count (one row deleted, another inserted): the table is left as it was', async () => {
    await legacyUsageTable('org_delta', 100);
    let wrote = false;
    const err = await migrateTables(bq, {
      mode: 'execute',
      dataset: 'org_delta',
      afterStep: async ({ step, tableId }) => {
        if (step !== 'backup' || tableId !== USAGE || wrote) return;
        wrote = true;
        await bq.query(`DELETE FROM \`org_delta.${USAGE}\` WHERE requests = 7`);
        await appendUsage('org_delta', 20_000, 20_000, '2024-03-07', '2024-06-03 09:30:00+00');
      },
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(wrote).toBe(true);
    expect(err?.message).toBe(
      `org_delta.${USAGE}: rows were written during the migration: 1 row the backup does not have (loaded_at 2024-06-03 09:30:00+00), 1 row of the backup no longer in the table. ` +
        'The table was left as it was (backup and rebuild removed); re-run --execute in a quiet window',
    );
    const after = (await meta('org_delta', USAGE)) as TableMetadata;
    expect(after.timePartitioning).toBeUndefined();
    expect(after.numRows).toBe('100');
    const [rows] = await bq.query(`SELECT COUNT(*) AS n FROM \`org_delta.${USAGE}\` WHERE requests = 20000`);
    expect(rows).toEqual([{ n: 1 }]);
    expect(await meta('org_delta', `${USAGE}${BACKUP}`)).toBeUndefined();
    expect(await meta('org_delta', `${USAGE}__bqmigrate_new`)).toBeUndefined();
    const [lockExists] = await bq.dataset('cloudact_meta').table('__bqmigrate_lock').exists();
    expect(lockExists).toBe(false);

    // In a quiet window the same run goes through, with the row written meanwhile.
    const again = await run('--execute', '--dataset', 'org_delta');
    expect(again.code).toBe(0);
    expect(again.out.join('\n')).toContain(`org_delta.${USAGE}: rebuilt`);
    const [kept] = await bq.query(`SELECT COUNT(*) AS n FROM \`org_delta.${USAGE}\` WHERE usage_date >= '2000-01-01' AND requests = 20000`);
    expect(kept).toEqual([{ n: 1 }]);
  });
});

describe('bq:migrate: a rollback that could only lose rows', () => {
  it('refuses, naming the table and the rows written after the migration, and changes nothing', async () => {
    // Ingestion-time partitioning: no query can rebuild it around the live rows.
    await legacyUsageTable('org_gamma', 40, { timePartitioning: { type: 'DAY' } });
    const executed = await run('--execute', '--dataset', 'org_gamma');
    expect(executed.code).toBe(0);
    const runId = runIdOf(executed.out);
    await appendUsage('org_gamma', 30_001, 30_002, '2024-03-21', '2024-06-04 10:00:00+00');
    const before = await usageChecksum('org_gamma');
    const migrated = await meta('org_gamma', USAGE);

    const { code, out, err } = await run('--rollback', '--dataset', 'org_gamma');
    expect(code).toBe(1);
    expect(out.join('\n')).toContain(
      `org_gamma.${USAGE}: REFUSED — 2 rows the backup does not have (loaded_at 2024-06-04 10:00:00+00) — restoring the backup would lose them, ` +
        `and its layout (ingestion-time partitioning DAY(_PARTITIONTIME)) cannot be rebuilt around the table's 42 rows by a query. Nothing was changed: the table and ${USAGE}${BACKUP} are kept`,
    );
    expect(out.join('\n')).toContain(`Rolled back run ${runId}: 0 restored from backup, 0 restored with rows written after the migration carried over, 1 refused.`);
    expect(err.join('\n')).toContain('the rollback refused some tables');
    expect(await meta('org_gamma', USAGE)).toEqual(migrated);
    expect(await usageChecksum('org_gamma')).toEqual(before);
    expect((await meta('org_gamma', `${USAGE}${BACKUP}`))?.labels?.bqmigrate_run).toBe(runId);
  });
});

/**
 * `shared/analytics`: the table definitions applied through the real client against the
 * local endpoint — created as defined, idempotent, patched where BigQuery allows it, and
 * refused with a clear error where it does not.
 */
import { randomBytes } from 'node:crypto';
import { BigQuery, type TableMetadata } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  centralDataset,
  ensureDataset,
  ensureDatasetDefinition,
  ensureTable,
  LLM_USAGE_DAILY,
  orgDataset,
  orgDatasetId,
  SchemaDriftError,
  tableResource,
  type ProvisionStep,
  type TableDefinition,
} from '../../shared/analytics/index.js';
import { localBigQueryOptions, startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';

let endpoint: BigQueryEndpoint;
let bq: BigQuery;

beforeAll(async () => {
  endpoint = await startBigQueryEndpoint({ port: 0 });
  bq = new BigQuery(localBigQueryOptions(endpoint.url));
});

afterAll(async () => {
  await endpoint?.close();
});

const slug = (): string => `t_${randomBytes(5).toString('hex')}`;
const LABELS = { org: 'x', managed_by: 'cloudact' };

async function tableMetadata(datasetId: string, tableId: string): Promise<TableMetadata> {
  return (await bq.dataset(datasetId).table(tableId).getMetadata())[0] as TableMetadata;
}

/** What a definition says about partitioning, clustering, labels and columns. */
function expectMatches(metadata: TableMetadata, def: TableDefinition, labels: Record<string, string>): void {
  expect(metadata.timePartitioning).toMatchObject({ type: 'DAY', field: def.partitionField });
  expect(metadata.clustering?.fields).toEqual([...def.clustering]);
  expect(metadata.labels).toMatchObject(labels);
  expect(metadata.schema?.fields?.map((f) => f.name)).toEqual(def.fields.map((f) => f.name));
}

describe('the definitions', () => {
  it('name an org dataset org_<slug> and refuse anything that is not a slug', () => {
    expect(orgDatasetId('acme_1')).toBe('org_acme_1');
    for (const bad of ['', 'ab', 'Acme', '1acme', 'acme-corp', 'acme`; DROP', 'a'.repeat(41)]) {
      expect(() => orgDatasetId(bad)).toThrow('Not a valid org slug');
    }
  });

  it('cluster every table of the central dataset by org_slug first and partition every table by day', () => {
    for (const def of [...centralDataset().tables, ...orgDataset('acme').tables]) {
      const partitionField = def.fields.find((f) => f.name === def.partitionField);
      expect(partitionField?.type, def.tableId).toMatch(/^(DATE|TIMESTAMP)$/);
      expect(def.clustering.length, def.tableId).toBeLessThanOrEqual(4);
      for (const name of def.clustering) expect(def.fields.map((f) => f.name), def.tableId).toContain(name);
    }
    for (const def of centralDataset().tables) expect(def.clustering[0], def.tableId).toBe('org_slug');
  });
});

describe('ensureDatasetDefinition', () => {
  it('creates an org dataset and its tables as defined, then finds nothing to do on a second run', async () => {
    const org = slug();
    const def = orgDataset(org);
    const steps: ProvisionStep[] = [];

    const first = await ensureDatasetDefinition(bq, def, { location: 'EU', beforeStep: (s) => void steps.push(s) });
    const second = await ensureDatasetDefinition(bq, def, { location: 'EU' });

    expect(first).toEqual({ datasetId: `org_${org}`, dataset: 'created', tables: { llm_usage_daily: 'created', llm_billed_cost_daily: 'created' } });
    expect(second).toEqual({ datasetId: `org_${org}`, dataset: 'unchanged', tables: { llm_usage_daily: 'unchanged', llm_billed_cost_daily: 'unchanged' } });
    expect(steps).toEqual([
      { kind: 'dataset', datasetId: `org_${org}` },
      { kind: 'table', datasetId: `org_${org}`, tableId: 'llm_usage_daily' },
      { kind: 'table', datasetId: `org_${org}`, tableId: 'llm_billed_cost_daily' },
    ]);
    const dataset = (await bq.dataset(`org_${org}`).getMetadata())[0] as { labels: Record<string, string>; location: string };
    expect(dataset.labels).toEqual({ org, managed_by: 'cloudact' });
    expect(dataset.location).toBe('EU');
    expectMatches(await tableMetadata(`org_${org}`, 'llm_usage_daily'), LLM_USAGE_DAILY, { org, managed_by: 'cloudact' });
  });

  it('stops with the error of a failing step and finishes the rest when run again', async () => {
    const def = orgDataset(slug());
    const failOnTable = (step: ProvisionStep): void => {
      if (step.kind === 'table') throw new Error('injected');
    };

    await expect(ensureDatasetDefinition(bq, def, { location: 'EU', beforeStep: failOnTable })).rejects.toThrow('injected');
    const retried = await ensureDatasetDefinition(bq, def, { location: 'EU' });

    expect(retried).toMatchObject({ dataset: 'unchanged', tables: { llm_usage_daily: 'created', llm_billed_cost_daily: 'created' } });
  });

  it('gives up with the abort reason when the signal aborts', async () => {
    const reason = new Error('budget spent');

    await expect(ensureDatasetDefinition(bq, orgDataset(slug()), { location: 'EU', signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });
});

describe('ensureDataset on an existing dataset', () => {
  it('adds missing labels and keeps the ones it does not own', async () => {
    const def = orgDataset(slug());
    await bq.createDataset(def.datasetId, { location: 'EU', labels: { team: 'finance' } });

    const outcome = await ensureDataset(bq, def, { location: 'EU' });

    expect(outcome).toBe('updated');
    const metadata = (await bq.dataset(def.datasetId).getMetadata())[0] as { labels: Record<string, string> };
    expect(metadata.labels).toEqual({ team: 'finance', ...def.labels });
  });

  it('refuses a dataset in another location (a dataset cannot move)', async () => {
    const def = orgDataset(slug());
    await bq.createDataset(def.datasetId, { location: 'US', labels: { ...def.labels } });

    const error = await ensureDataset(bq, def, { location: 'EU' }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SchemaDriftError);
    expect((error as SchemaDriftError).problems).toEqual(['location is US, expected EU (a dataset cannot move)']);
  });
});

describe('ensureTable on an existing table', () => {
  const fieldsOf = (def: TableDefinition): NonNullable<TableMetadata['schema']>['fields'] =>
    def.fields.map((f) => ({ name: f.name, type: f.type, mode: f.mode }));

  it('patches labels, clustering, require_partition_filter, a new NULLABLE column and a column the definition relaxed', async () => {
    const datasetId = `d_${randomBytes(4).toString('hex')}`;
    await bq.createDataset(datasetId);
    const fields = fieldsOf(LLM_USAGE_DAILY)?.filter((f) => f.name !== 'pipeline_run_id') ?? [];
    const relaxedLater: TableDefinition = {
      ...LLM_USAGE_DAILY,
      fields: LLM_USAGE_DAILY.fields.map((f) => (f.name === 'loaded_at' ? { ...f, mode: 'NULLABLE' } : f)),
    };
    await bq.dataset(datasetId).createTable(LLM_USAGE_DAILY.tableId, {
      schema: { fields },
      timePartitioning: { type: 'DAY', field: 'usage_date' },
      clustering: { fields: ['model'] },
    });

    const outcome = await ensureTable(bq, datasetId, relaxedLater, LABELS);
    const again = await ensureTable(bq, datasetId, relaxedLater, LABELS);

    expect([outcome, again]).toEqual(['updated', 'unchanged']);
    const metadata = await tableMetadata(datasetId, LLM_USAGE_DAILY.tableId);
    expect(metadata.clustering?.fields).toEqual(['provider', 'model']);
    expect(metadata.requirePartitionFilter).toBe(true);
    expect(metadata.labels).toEqual(LABELS);
    expect(metadata.schema?.fields?.find((f) => f.name === 'pipeline_run_id')).toMatchObject({ type: 'STRING', mode: 'NULLABLE' });
    expect(metadata.schema?.fields?.find((f) => f.name === 'loaded_at')).toMatchObject({ mode: 'NULLABLE' });
  });

  it.each([
    {
      name: 'partitioned on another column',
      change: (t: TableMetadata): TableMetadata => ({ ...t, timePartitioning: { type: 'DAY', field: 'loaded_at' } }),
      problem: 'partitioning is DAY on loaded_at, expected DAY on usage_date (partitioning cannot be changed in place)',
    },
    {
      name: 'not partitioned',
      change: (t: TableMetadata): TableMetadata => ({ ...t, timePartitioning: undefined }),
      problem: 'partitioning is none, expected DAY on usage_date (partitioning cannot be changed in place)',
    },
    {
      name: 'holding a column of another type',
      change: (t: TableMetadata): TableMetadata => ({
        ...t,
        schema: { fields: t.schema?.fields?.map((f) => (f.name === 'requests' ? { ...f, type: 'STRING' } : f)) },
      }),
      problem: 'column requests is STRING, expected INT64',
    },
    {
      name: 'missing a REQUIRED column',
      change: (t: TableMetadata): TableMetadata => ({ ...t, schema: { fields: t.schema?.fields?.filter((f) => f.name !== 'cost_usd') } }),
      problem: 'column cost_usd is missing and is REQUIRED (BigQuery cannot add REQUIRED columns)',
    },
  ])('refuses a table $name with a SchemaDriftError that says so, and changes nothing', async ({ change, problem }) => {
    const datasetId = `d_${randomBytes(4).toString('hex')}`;
    await bq.createDataset(datasetId);
    const body = change(tableResource(LLM_USAGE_DAILY, {}));
    await bq.dataset(datasetId).createTable(LLM_USAGE_DAILY.tableId, body);

    const error = await ensureTable(bq, datasetId, LLM_USAGE_DAILY, LABELS).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SchemaDriftError);
    expect((error as SchemaDriftError).problems).toContain(problem);
    expect((error as SchemaDriftError).message).toContain(`${datasetId}.llm_usage_daily differs from its definition`);
    expect((await tableMetadata(datasetId, LLM_USAGE_DAILY.tableId)).labels ?? {}).toEqual({});
  });
});

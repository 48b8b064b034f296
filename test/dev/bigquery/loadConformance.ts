/**
 * Load-job conformance cases, shared by the local endpoint test
 * (loadJobs.test.ts) and the contract test against real BigQuery
 * (contract.test.ts): files go up through the client's `table.load(file)` and
 * `createLoadJob(file)` (a media upload), and every assertion is about what a
 * user sees — rows and their JS types, the table's schema, the job's
 * statistics and its errors. The behaviour checked is documented in
 * "Loading CSV data" (https://cloud.google.com/bigquery/docs/loading-data-cloud-storage-csv),
 * "Loading JSON data" (https://cloud.google.com/bigquery/docs/loading-data-cloud-storage-json),
 * "Using schema auto-detection" (https://cloud.google.com/bigquery/docs/schema-detect)
 * and the REST reference of `JobConfigurationLoad` and `JobStatistics3`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BigQuery, JobLoadMetadata } from '@google-cloud/bigquery';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { comparable, rejectionOf } from './conformance.js';

/** `statistics.load` as a finished load job reports it. */
interface LoadStatistics {
  inputFiles: string;
  inputFileBytes: string;
  outputRows: string;
  outputBytes: string;
  badRecords?: string;
}

/**
 * Registers the load-job cases. Call inside a `describe`.
 *
 * @param client returns the client (created in the caller's beforeAll)
 * @param datasetId a dataset name unique to this run; created and deleted here
 */
export function defineLoadConformanceCases(client: () => BigQuery, datasetId: string): void {
  let bq: BigQuery;
  let dir: string;
  let fileCount = 0;

  beforeAll(async () => {
    bq = client();
    dir = mkdtempSync(join(tmpdir(), 'bq-load-'));
    await bq.createDataset(datasetId);
  });

  afterAll(async () => {
    await bq?.dataset(datasetId).delete({ force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Writes `text` to a new file with `extension` (the client picks the source format from it). */
  const file = (text: string, extension: 'csv' | 'json' = 'csv'): string => {
    const path = join(dir, `f${++fileCount}.${extension}`);
    writeFileSync(path, text);
    return path;
  };
  /** Loads `text` into `table` and returns the finished job's statistics. */
  const load = async (table: string, text: string, metadata: JobLoadMetadata, extension: 'csv' | 'json' = 'csv'): Promise<LoadStatistics> => {
    const [job] = await bq.dataset(datasetId).table(table).load(file(text, extension), metadata);
    return (job as { statistics: { load: LoadStatistics } }).statistics.load;
  };
  const rowsOf = async (sql: string): Promise<unknown[]> => {
    const [rows] = await bq.query(sql);
    return (rows as unknown[]).map(comparable);
  };
  const schemaOf = async (table: string): Promise<{ name: string; type: string; mode?: string }[]> => {
    const [meta] = (await bq.dataset(datasetId).table(table).getMetadata()) as unknown as [{ schema: { fields: { name: string; type: string; mode?: string }[] } }];
    return meta.schema.fields.map(({ name, type, mode }) => ({ name, type, mode }));
  };
  const T = (table: string): string => `\`${datasetId}.${table}\``;

  it('loads a CSV with a header row skipped and a given schema, and reports outputRows and inputFileBytes', async () => {
    const text = 'org,tokens,cost,day\nacme,10,0.5,2024-05-01\nglobex,20,1.25,2024-05-02\n';
    const stats = await load('given', text, {
      skipLeadingRows: 1,
      schema: { fields: [{ name: 'org', type: 'STRING' }, { name: 'tokens', type: 'INT64' }, { name: 'cost', type: 'FLOAT64' }, { name: 'day', type: 'DATE' }] },
    });
    expect(stats.outputRows).toBe('2');
    expect(stats.inputFileBytes).toBe(String(Buffer.byteLength(text)));
    expect(await rowsOf(`SELECT * FROM ${T('given')} ORDER BY org`)).toEqual([
      { org: 'acme', tokens: 10, cost: 0.5, day: 'BigQueryDate:2024-05-01' },
      { org: 'globex', tokens: 20, cost: 1.25, day: 'BigQueryDate:2024-05-02' },
    ]);
  });

  it('auto-detects INT64, FLOAT64, BOOL, DATE, TIMESTAMP and STRING columns and the header row of a CSV', async () => {
    await load('detected', 'id,ratio,active,day,seen_at,name\n1,0.5,true,2024-05-01,2024-05-01 10:00:00 UTC,a\n2,1.5,false,2024-05-02,2024-05-02 11:30:00 UTC,b\n', { autodetect: true });
    expect(await schemaOf('detected')).toEqual([
      { name: 'id', type: 'INTEGER', mode: 'NULLABLE' },
      { name: 'ratio', type: 'FLOAT', mode: 'NULLABLE' },
      { name: 'active', type: 'BOOLEAN', mode: 'NULLABLE' },
      { name: 'day', type: 'DATE', mode: 'NULLABLE' },
      { name: 'seen_at', type: 'TIMESTAMP', mode: 'NULLABLE' },
      { name: 'name', type: 'STRING', mode: 'NULLABLE' },
    ]);
    expect(await rowsOf(`SELECT id, seen_at FROM ${T('detected')} ORDER BY id`)).toEqual([
      { id: 1, seen_at: 'BigQueryTimestamp:2024-05-01T10:00:00.000Z' },
      { id: 2, seen_at: 'BigQueryTimestamp:2024-05-02T11:30:00.000Z' },
    ]);
  });

  it('auto-detects a CSV without a header row as data, naming the columns after their types', async () => {
    await load('headerless', '1,x\n2,y\n', { autodetect: true });
    expect((await schemaOf('headerless')).map((f) => f.type)).toEqual(['INTEGER', 'STRING']);
    const [rows] = await bq.query(`SELECT COUNT(*) AS n FROM ${T('headerless')}`);
    expect(rows).toEqual([{ n: 2 }]);
  });

  it('reads another delimiter, quoted delimiters and doubled quotes, and quoted newlines when allowQuotedNewlines is set', async () => {
    const schema = { fields: [{ name: 'id', type: 'INT64' }, { name: 'note', type: 'STRING' }] };
    await load('dialect', '1|"a|b"\n2|"say ""hi"""\n3|"two\nlines"\n', { schema, fieldDelimiter: '|', allowQuotedNewlines: true });
    expect(await rowsOf(`SELECT * FROM ${T('dialect')} ORDER BY id`)).toEqual([
      { id: 1, note: 'a|b' },
      { id: 2, note: 'say "hi"' },
      { id: 3, note: 'two\nlines' },
    ]);
  });

  it('reads an empty field as NULL by default, and only the nullMarker as NULL when one is set', async () => {
    const schema = { fields: [{ name: 'id', type: 'INT64' }, { name: 'n', type: 'INT64' }, { name: 's', type: 'STRING' }] };
    await load('nulls_default', '1,,\n2,5,x\n', { schema });
    expect(await rowsOf(`SELECT * FROM ${T('nulls_default')} ORDER BY id`)).toEqual([
      { id: 1, n: null, s: null },
      { id: 2, n: 5, s: 'x' },
    ]);
    await load('nulls_marker', '1,\\N,\n2,\\N,\\N\n', { schema, nullMarker: '\\N' });
    expect(await rowsOf(`SELECT * FROM ${T('nulls_marker')} ORDER BY id`)).toEqual([
      { id: 1, n: null, s: '' },
      { id: 2, n: null, s: null },
    ]);
  });

  it('fails the job with reason invalid for a quoted newline without allowQuotedNewlines, and writes nothing', async () => {
    const schema = { fields: [{ name: 'id', type: 'INT64' }, { name: 'note', type: 'STRING' }] };
    const err = await rejectionOf(() => load('no_newlines', '1,"two\nlines"\n2,ok\n', { schema }));
    expect(err.errors?.[0]?.reason).toBe('invalid');
    const [tables] = await bq.dataset(datasetId).getTables();
    expect(tables.map((t) => t.id)).not.toContain('no_newlines');
  });

  it('fails the job with reason invalid and one error per bad row, and writes nothing, when a value does not parse', async () => {
    const schema = { fields: [{ name: 'id', type: 'INT64' }, { name: 'n', type: 'INT64' }] };
    await load('strict', '1,1\n', { schema });
    const err = await rejectionOf(() => load('strict', '2,2\n3,three\n', { schema }));
    expect(err.errors?.[0]?.reason).toBe('invalid');
    expect(err.errors?.length).toBeGreaterThanOrEqual(2);
    expect(err.errors?.slice(1).every((e) => e.reason === 'invalid')).toBe(true);
    expect(err.errors?.map((e) => e.message).join('\n')).toContain('three');
    expect(await rowsOf(`SELECT id FROM ${T('strict')} ORDER BY id`)).toEqual([{ id: 1 }]);
  });

  it('skips up to maxBadRecords bad rows and counts them in statistics.load.badRecords', async () => {
    const schema = { fields: [{ name: 'id', type: 'INT64' }] };
    const stats = await load('lenient', '1\nx\n3\n', { schema, maxBadRecords: 1 });
    expect(stats.outputRows).toBe('2');
    expect(stats.badRecords).toBe('1');
    expect(await rowsOf(`SELECT id FROM ${T('lenient')} ORDER BY id`)).toEqual([{ id: 1 }, { id: 3 }]);
  });

  it('loads newline-delimited JSON with nested and repeated fields by name', async () => {
    const schema = {
      fields: [
        { name: 'id', type: 'INT64' },
        { name: 'tags', type: 'STRING', mode: 'REPEATED' },
        { name: 'usage', type: 'RECORD', fields: [{ name: 'tokens', type: 'INT64' }, { name: 'model', type: 'STRING' }] },
      ],
    };
    const text = '{"id":1,"tags":["a","b"],"usage":{"tokens":5,"model":"m1"}}\n{"usage":{"model":"m2","tokens":7},"id":2,"tags":[]}\n';
    const stats = await load('nested', text, { schema, sourceFormat: 'NEWLINE_DELIMITED_JSON' }, 'json');
    expect(stats.outputRows).toBe('2');
    expect(await rowsOf(`SELECT * FROM ${T('nested')} ORDER BY id`)).toEqual([
      { id: 1, tags: ['a', 'b'], usage: { tokens: 5, model: 'm1' } },
      { id: 2, tags: [], usage: { tokens: 7, model: 'm2' } },
    ]);
  });

  it('auto-detects the schema of newline-delimited JSON', async () => {
    await load('json_detected', '{"id":1,"ok":true,"price":2.5,"name":"a"}\n{"id":2,"ok":false,"price":3,"name":"b"}\n', { autodetect: true }, 'json');
    const fields = await schemaOf('json_detected');
    expect(Object.fromEntries(fields.map((f) => [f.name, f.type]))).toEqual({ id: 'INTEGER', ok: 'BOOLEAN', price: 'FLOAT', name: 'STRING' });
  });

  it('appends with WRITE_APPEND (the default), replaces with WRITE_TRUNCATE and refuses a table with rows under WRITE_EMPTY', async () => {
    const schema = { fields: [{ name: 'id', type: 'INT64' }] };
    await load('dispositions', '1\n2\n', { schema });
    await load('dispositions', '3\n', { schema });
    expect(await rowsOf(`SELECT COUNT(*) AS n FROM ${T('dispositions')}`)).toEqual([{ n: 3 }]);
    await load('dispositions', '9\n', { schema, writeDisposition: 'WRITE_TRUNCATE' });
    expect(await rowsOf(`SELECT id FROM ${T('dispositions')}`)).toEqual([{ id: 9 }]);
    const err = await rejectionOf(() => load('dispositions', '10\n', { schema, writeDisposition: 'WRITE_EMPTY' }));
    expect(err.errors?.[0]?.reason).toBe('duplicate');
    expect(await rowsOf(`SELECT id FROM ${T('dispositions')}`)).toEqual([{ id: 9 }]);
  });

  it('fails with reason notFound under CREATE_NEVER when the table does not exist', async () => {
    const err = await rejectionOf(() => load('never_created', '1\n', { schema: { fields: [{ name: 'id', type: 'INT64' }] }, createDisposition: 'CREATE_NEVER' }));
    expect(err.errors?.[0]?.reason).toBe('notFound');
  });

  it('loads into a partitioned table that requires a partition filter, each row into the partition of its date', async () => {
    const ds = bq.dataset(datasetId);
    await ds.createTable('by_day', {
      schema: { fields: [{ name: 'day', type: 'DATE' }, { name: 'n', type: 'INT64' }] },
      timePartitioning: { type: 'DAY', field: 'day' },
      requirePartitionFilter: true,
    });
    const stats = await load('by_day', '2024-05-01,1\n2024-05-01,2\n2024-05-03,3\n', {});
    expect(stats.outputRows).toBe('3');
    expect(await rowsOf(`SELECT day, SUM(n) AS n FROM ${T('by_day')} WHERE day >= '2024-01-01' GROUP BY day ORDER BY day`)).toEqual([
      { day: 'BigQueryDate:2024-05-01', n: 3 },
      { day: 'BigQueryDate:2024-05-03', n: 3 },
    ]);
  });

  it('creates a partitioned, clustered table from the load job timePartitioning and clustering', async () => {
    await load('made_partitioned', '2024-05-01,acme,1\n', {
      schema: { fields: [{ name: 'day', type: 'DATE' }, { name: 'org', type: 'STRING' }, { name: 'n', type: 'INT64' }] },
      timePartitioning: { type: 'DAY', field: 'day' },
      clustering: { fields: ['org'] },
    });
    const [meta] = (await bq.dataset(datasetId).table('made_partitioned').getMetadata()) as unknown as [Record<string, unknown>];
    expect(meta.timePartitioning).toMatchObject({ type: 'DAY', field: 'day' });
    expect(meta.clustering).toEqual({ fields: ['org'] });
  });

  it('starts a load job with createLoadJob and reports it DONE with statistics.load once complete', async () => {
    const [job] = await bq.dataset(datasetId).table('via_job').createLoadJob(file('a,1\nb,2\n'), { schema: { fields: [{ name: 's', type: 'STRING' }, { name: 'n', type: 'INT64' }] } });
    const [metadata] = (await job.promise()) as [{ status: { state: string }; statistics: { load: LoadStatistics }; configuration: { jobType?: string } }];
    expect(metadata.status.state).toBe('DONE');
    expect(metadata.statistics.load.outputRows).toBe('2');
    expect(Number(metadata.statistics.load.outputBytes)).toBeGreaterThan(0);
  });
}

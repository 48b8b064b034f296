/**
 * Conformance cases shared by the local endpoint tests and the contract test
 * against real BigQuery: everything here must behave identically on both, so
 * assertions are about what a user of `@google-cloud/bigquery` sees (JS values
 * and their types, error codes and reasons), not about wire details.
 */
import { createRequire } from 'node:module';
import { BigQuery, BigQueryDate, BigQueryDatetime, BigQueryTime, BigQueryTimestamp } from '@google-cloud/bigquery';
import type { Job, Table } from '@google-cloud/bigquery';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FUNCTION_CASES, RUNTIME_ERROR_CASES } from './functionCases.js';

/** big.js exactly as the client loads it (an ESM `import` would give a different class). */
interface BigValue {
  toString(): string;
}
type BigCtor = new (v: string) => BigValue;
const requireFromClient = createRequire(createRequire(import.meta.url).resolve('@google-cloud/bigquery'));
export const Big = requireFromClient('big.js') as BigCtor;

/**
 * A GoogleSQL query that keeps DuckDB (and BigQuery) busy for minutes:
 * 4·10¹⁰ joined pairs. Used for the timeout and cancel cases.
 */
export const SLOW_QUERY =
  'SELECT COUNT(*) AS n FROM UNNEST(GENERATE_ARRAY(1, 200000)) AS a, UNNEST(GENERATE_ARRAY(1, 200000)) AS b WHERE MOD(a * b, 7) = 3';

/** Seconds of work (10⁸ joined pairs) that then finishes: keeps a transaction open while another one runs. */
export const SLOWISH_QUERY =
  'SELECT COUNT(*) AS n FROM UNNEST(GENERATE_ARRAY(1, 10000)) AS a, UNNEST(GENERATE_ARRAY(1, 10000)) AS b WHERE MOD(a * b, 7) = 3';

/** Waits until the script `jobId` has run a statement of `statementType` (its child jobs say so). */
export async function untilChildRuns(bq: BigQuery, jobId: string, statementType: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [children] = await bq.getJobs({ parentJobId: jobId });
    if (children.some((c) => (c.metadata as { statistics?: { query?: { statementType?: string } } }).statistics?.query?.statementType === statementType)) return;
    if (Date.now() > deadline) throw new Error(`${statementType} never ran in ${jobId}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The shape of the client's ApiError that tests inspect. */
export interface ClientError {
  code?: number;
  message: string;
  errors?: { reason?: string; message?: string }[];
}

/** Runs `fn` and returns the error it rejects with (fails the test when it resolves). */
export async function rejectionOf(fn: () => Promise<unknown>): Promise<ClientError> {
  try {
    await fn();
  } catch (err) {
    return err as ClientError;
  }
  throw new Error('expected the call to reject, but it resolved');
}

/** A comparable form of a client value: custom types by their `.value`, Big and Buffer as strings. */
export function comparable(v: unknown): unknown {
  if (v === null || v === undefined) return v;
  if (v instanceof BigQueryDate || v instanceof BigQueryTime || v instanceof BigQueryTimestamp || v instanceof BigQueryDatetime) {
    return `${v.constructor.name}:${v.value}`;
  }
  if (v instanceof Big) return `Big:${v.toString()}`;
  if (Buffer.isBuffer(v)) return `Buffer:${v.toString('base64')}`;
  if (Array.isArray(v)) return v.map(comparable);
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, comparable(x)]));
  return v;
}

async function waitForState(job: Job, state: 'RUNNING' | 'DONE', timeoutMs: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [metadata] = (await job.getMetadata()) as unknown as [Record<string, unknown>];
    const status = metadata.status as { state: string };
    if (status.state === state || status.state === 'DONE') return metadata;
    if (Date.now() > deadline) throw new Error(`job ${job.id} still ${status.state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One scalar parameter case: what is sent and what the client must hand back. */
interface ScalarCase {
  name: string;
  value: unknown;
  type?: string;
  expected: unknown;
}

/** Scalar parameter round trips: `SELECT @v` must return the same JS value/type as BigQuery. */
export const SCALAR_CASES: ScalarCase[] = [
  { name: 'STRING', value: 'héllo wörld', expected: 'héllo wörld' },
  { name: 'INT64', value: 42, expected: 42 },
  { name: 'INT64 (negative, from BigQuery.int)', value: BigQuery.int('-9007199254740991'), expected: -9007199254740991 },
  { name: 'FLOAT64', value: 1.25, expected: 1.25 },
  { name: 'NUMERIC', value: new Big('123456.789'), expected: 'Big:123456.789' },
  { name: 'BIGNUMERIC', value: new Big('0.1234567890123'), expected: 'Big:0.1234567890123' },
  { name: 'BOOL', value: true, expected: true },
  { name: 'BYTES', value: Buffer.from('bytes!').toString('base64'), type: 'BYTES', expected: `Buffer:${Buffer.from('bytes!').toString('base64')}` },
  { name: 'DATE', value: BigQuery.date('2024-02-29'), expected: 'BigQueryDate:2024-02-29' },
  { name: 'DATETIME', value: BigQuery.datetime('2024-02-29 12:34:56'), expected: 'BigQueryDatetime:2024-02-29T12:34:56' },
  { name: 'TIMESTAMP', value: BigQuery.timestamp('2024-02-29T12:34:56.123456Z'), expected: 'BigQueryTimestamp:2024-02-29T12:34:56.123456000Z' },
  { name: 'TIME', value: BigQuery.time('12:34:56'), expected: 'BigQueryTime:12:34:56' },
  { name: 'JSON', value: { a: 1, b: [true, null] }, type: 'JSON', expected: '{"a":1,"b":[true,null]}' },
  { name: 'STRING NULL', value: null, type: 'STRING', expected: null },
  { name: 'INT64 NULL', value: null, type: 'INT64', expected: null },
];

/** GoogleSQL semantics that the translator must preserve (also checked against real BigQuery). */
export const SEMANTIC_CASES: { name: string; query: string; expected: unknown }[] = [
  { name: 'DATE_ADD clamps to the end of the month', query: "SELECT DATE_ADD(DATE '2024-01-31', INTERVAL 1 MONTH) AS v", expected: 'BigQueryDate:2024-02-29' },
  { name: 'DATE_SUB subtracts days', query: "SELECT DATE_SUB(DATE '2024-03-01', INTERVAL 1 DAY) AS v", expected: 'BigQueryDate:2024-02-29' },
  { name: 'DATE_DIFF counts day boundaries', query: "SELECT DATE_DIFF(DATE '2024-03-01', DATE '2024-02-01', DAY) AS v", expected: 29 },
  { name: 'DATE_DIFF in MONTH counts month boundaries', query: "SELECT DATE_DIFF(DATE '2024-02-01', DATE '2024-01-31', MONTH) AS v", expected: 1 },
  { name: 'DATE_DIFF in WEEK counts Sunday boundaries', query: "SELECT DATE_DIFF(DATE '2024-03-03', DATE '2024-03-02', WEEK) AS v", expected: 1 },
  { name: 'DATE_TRUNC to WEEK starts on Sunday', query: "SELECT DATE_TRUNC(DATE '2024-03-06', WEEK) AS v", expected: 'BigQueryDate:2024-03-03' },
  { name: 'DATE_TRUNC to MONTH', query: "SELECT DATE_TRUNC(DATE '2024-03-06', MONTH) AS v", expected: 'BigQueryDate:2024-03-01' },
  { name: 'TIMESTAMP_TRUNC to HOUR', query: "SELECT TIMESTAMP_TRUNC(TIMESTAMP '2024-03-06 10:42:00+00', HOUR) AS v", expected: 'BigQueryTimestamp:2024-03-06T10:00:00.000Z' },
  { name: 'EXTRACT DAYOFWEEK is 1 for Sunday', query: "SELECT EXTRACT(DAYOFWEEK FROM DATE '2024-03-03') AS v", expected: 1 },
  { name: 'EXTRACT YEAR from a timestamp is in UTC', query: "SELECT EXTRACT(YEAR FROM TIMESTAMP '2023-12-31 23:30:00-05:00') AS v", expected: 2024 },
  { name: 'DATE() of a timestamp is the UTC date', query: "SELECT DATE(TIMESTAMP '2024-03-06 23:30:00-05:00') AS v", expected: 'BigQueryDate:2024-03-07' },
  { name: 'FORMAT_DATE with %Y-%m-%d', query: "SELECT FORMAT_DATE('%Y-%m-%d', DATE '2024-03-06') AS v", expected: '2024-03-06' },
  { name: 'PARSE_DATE with %d/%m/%Y', query: "SELECT PARSE_DATE('%d/%m/%Y', '06/03/2024') AS v", expected: 'BigQueryDate:2024-03-06' },
  { name: 'TIMESTAMP_MILLIS and UNIX_MILLIS round-trip', query: 'SELECT UNIX_MILLIS(TIMESTAMP_MILLIS(1700000000123)) AS v', expected: 1700000000123 },
  { name: 'CONCAT returns NULL when an argument is NULL', query: "SELECT CONCAT('a', CAST(NULL AS STRING)) AS v", expected: null },
  { name: 'CONCAT joins strings', query: "SELECT CONCAT('a', 'b', 'c') AS v", expected: 'abc' },
  { name: 'LOG(x) is the natural logarithm', query: 'SELECT ROUND(LOG(EXP(2)), 6) AS v', expected: 2 },
  { name: 'GREATEST returns NULL if any argument is NULL', query: 'SELECT GREATEST(1, NULL, 3) AS v', expected: null },
  { name: 'SAFE_DIVIDE by zero is NULL', query: 'SELECT SAFE_DIVIDE(1, 0) AS v', expected: null },
  { name: 'integer division with / yields FLOAT64', query: 'SELECT 7 / 2 AS v', expected: 3.5 },
  { name: 'IF picks the branch', query: 'SELECT IF(1 > 2, "yes", "no") AS v', expected: 'no' },
  { name: 'COUNTIF counts true conditions', query: 'SELECT COUNTIF(x > 1) AS v FROM UNNEST([1, 2, 3]) AS x', expected: 2 },
  { name: 'STRING_AGG orders by the given key', query: "SELECT STRING_AGG(x, '-' ORDER BY x DESC) AS v FROM UNNEST(['a', 'b', 'c']) AS x", expected: 'c-b-a' },
  { name: 'ARRAY_AGG builds an array', query: 'SELECT ARRAY_AGG(x ORDER BY x) AS v FROM UNNEST([3, 1, 2]) AS x', expected: [1, 2, 3] },
  { name: 'SPLIT splits on commas by default', query: "SELECT SPLIT('a,b,c') AS v", expected: ['a', 'b', 'c'] },
  { name: 'array subscript OFFSET is zero-based', query: 'SELECT [10, 20, 30][OFFSET(1)] AS v', expected: 20 },
  { name: 'array subscript ORDINAL is one-based', query: 'SELECT [10, 20, 30][ORDINAL(1)] AS v', expected: 10 },
  { name: 'ARRAY_LENGTH counts elements', query: 'SELECT ARRAY_LENGTH([1, 2, 3]) AS v', expected: 3 },
  { name: 'REGEXP_CONTAINS matches partially', query: "SELECT REGEXP_CONTAINS('foobar', r'o+b') AS v", expected: true },
  { name: 'REGEXP_EXTRACT returns the capture group', query: "SELECT REGEXP_EXTRACT('user@example.com', r'@(.+)$') AS v", expected: 'example.com' },
  { name: 'SAFE_CAST of a bad number is NULL', query: "SELECT SAFE_CAST('x' AS INT64) AS v", expected: null },
  { name: 'CAST to NUMERIC gives a Big', query: "SELECT CAST('1.50' AS NUMERIC) AS v", expected: 'Big:1.5' },
  { name: 'NULLs sort first in ascending order', query: 'SELECT ARRAY_AGG(IFNULL(CAST(x AS STRING), "null") ORDER BY x) AS v FROM UNNEST([2, NULL, 1]) AS x', expected: ['null', '1', '2'] },
  { name: 'TIMESTAMP_DIFF counts whole hours', query: "SELECT TIMESTAMP_DIFF(TIMESTAMP '2024-01-01 10:00:00+00', TIMESTAMP '2024-01-01 09:59:00+00', HOUR) AS v", expected: 0 },
  { name: 'DATETIME_TRUNC to WEEK(MONDAY)', query: "SELECT DATETIME_TRUNC(DATETIME '2024-03-06 10:11:12', WEEK(MONDAY)) AS v", expected: 'BigQueryDatetime:2024-03-04T00:00:00' },
  { name: 'EXTRACT WEEK counts Sunday-based weeks', query: "SELECT EXTRACT(WEEK FROM DATE '2024-03-06') AS v", expected: 9 },
  { name: 'DATE with a time zone', query: "SELECT DATE(TIMESTAMP '2024-03-06 02:00:00+00', 'America/New_York') AS v", expected: 'BigQueryDate:2024-03-05' },
  { name: 'LAST_DAY of February in a leap year', query: "SELECT LAST_DAY(DATE '2024-02-10') AS v", expected: 'BigQueryDate:2024-02-29' },
  { name: 'GENERATE_DATE_ARRAY by month', query: "SELECT GENERATE_DATE_ARRAY(DATE '2024-01-31', DATE '2024-03-31', INTERVAL 1 MONTH) AS v", expected: ['BigQueryDate:2024-01-31', 'BigQueryDate:2024-02-29', 'BigQueryDate:2024-03-31'] },
  { name: 'DIV truncates toward zero', query: 'SELECT DIV(-7, 2) AS v', expected: -3 },
  { name: 'MOD keeps the sign of the dividend', query: 'SELECT MOD(-7, 2) AS v', expected: -1 },
  { name: 'CAST rounds half away from zero', query: 'SELECT CAST(-2.5 AS INT64) AS v', expected: -3 },
  { name: 'FORMAT with printf-style specifiers', query: "SELECT FORMAT('%d items, %s, %.2f', 3, 'x', 1.234) AS v", expected: '3 items, x, 1.23' },
  { name: 'JSON_VALUE returns a scalar as STRING', query: 'SELECT JSON_VALUE(\'{"a": {"b": "x"}}\', \'$.a.b\') AS v', expected: 'x' },
  { name: 'JSON_VALUE of an object is NULL', query: 'SELECT JSON_VALUE(\'{"a": {"b": 1}}\', \'$.a\') AS v', expected: null },
  { name: 'FORMAT_TIMESTAMP prints UTC', query: "SELECT FORMAT_TIMESTAMP('%F %T %Z', TIMESTAMP '2024-03-06 10:11:12+00') AS v", expected: '2024-03-06 10:11:12 UTC' },
  { name: 'duplicate column names get a suffix', query: 'SELECT 1 AS v, 2 AS v', expected: 1 },
  { name: 'an unaliased expression is named f0_', query: 'SELECT 1 + 1', expected: undefined },
  { name: 'WITH and GROUP BY compose', query: 'WITH t AS (SELECT x, MOD(x, 2) AS k FROM UNNEST(GENERATE_ARRAY(1, 10)) AS x) SELECT SUM(x) AS v FROM t WHERE k = 0', expected: 30 },
  { name: 'UNNEST of a struct array exposes fields', query: 'SELECT s.a AS v FROM UNNEST([STRUCT(1 AS a), STRUCT(2 AS a)]) AS s ORDER BY v DESC LIMIT 1', expected: 2 },
];

/** Options that differ between the local endpoint and real BigQuery. */
export interface ConformanceOptions {
  /** Milliseconds allowed for the slow-query cases (real BigQuery is slower to start jobs). */
  slowCaseTimeoutMs: number;
}

/**
 * Registers the shared conformance cases. Call inside a `describe`.
 *
 * @param client returns the client (created in the caller's beforeAll)
 * @param datasetId a dataset name unique to this run; created and deleted here
 */
export function defineConformanceCases(client: () => BigQuery, datasetId: string, opts: ConformanceOptions): void {
  let bq: BigQuery;

  beforeAll(async () => {
    bq = client();
    await bq.createDataset(datasetId, { labels: { suite: 'conformance' }, description: 'conformance dataset' });
  });

  afterAll(async () => {
    await bq?.dataset(datasetId).delete({ force: true });
  });

  it.each(SCALAR_CASES)('returns a named $name parameter as the same JS value', async ({ value, type, expected }) => {
    const options: Record<string, unknown> = { query: 'SELECT @v AS v', params: { v: value } };
    if (type) options.types = { v: type };
    const [rows] = await bq.query(options);
    expect(comparable((rows as Record<string, unknown>[])[0]?.v)).toEqual(expected);
  });

  it.each(SCALAR_CASES.filter((c) => c.value !== null))('returns a positional $name parameter as the same JS value', async ({ value, type, expected }) => {
    const options: Record<string, unknown> = { query: 'SELECT ? AS v', params: [value] };
    if (type) options.types = [type];
    const [rows] = await bq.query(options);
    expect(comparable((rows as Record<string, unknown>[])[0]?.v)).toEqual(expected);
  });

  it('returns an ARRAY parameter as a JS array', async () => {
    const [rows] = await bq.query({ query: 'SELECT @xs AS xs, ARRAY_LENGTH(@xs) AS n', params: { xs: [3, 1, 2] } });
    expect(rows).toEqual([{ xs: [3, 1, 2], n: 3 }]);
  });

  it('filters with IN UNNEST(@array)', async () => {
    const [rows] = await bq.query({ query: 'SELECT x FROM UNNEST([1, 2, 3, 4]) AS x WHERE x IN UNNEST(@wanted) ORDER BY x', params: { wanted: [2, 4] } });
    expect(rows).toEqual([{ x: 2 }, { x: 4 }]);
  });

  it('returns a STRUCT parameter as a JS object with nested values', async () => {
    const [rows] = await bq.query({
      query: 'SELECT @s AS s, @s.name AS name',
      params: { s: { name: 'ada', tags: ['x', 'y'], born: BigQuery.date('1815-12-10') } },
    });
    expect(comparable(rows)).toEqual([{ s: { name: 'ada', tags: ['x', 'y'], born: 'BigQueryDate:1815-12-10' }, name: 'ada' }]);
  });

  it('returns an empty typed ARRAY parameter as an empty array', async () => {
    const [rows] = await bq.query({ query: 'SELECT ARRAY_LENGTH(@xs) AS n', params: { xs: [] }, types: { xs: ['INT64'] } });
    expect(rows).toEqual([{ n: 0 }]);
  });

  it.each(FUNCTION_CASES)('matches the BigQuery reference ($doc): $name', async ({ query, expected }) => {
    const [rows] = await bq.query(query);
    expect(comparable((rows as Record<string, unknown>[])[0]?.v)).toEqual(expected);
  });

  it.each(RUNTIME_ERROR_CASES)('fails like BigQuery ($doc): $name', async ({ query, message }) => {
    const err = await rejectionOf(() => bq.query(query));
    expect(err.code).toBe(400);
    expect(err.errors?.[0]?.reason).toBe('invalidQuery');
    if (typeof message === 'string') expect(err.message).toContain(message);
    else expect(err.message).toMatch(message);
  });

  /** Arrays of every date/time type, sent as the client's typed values (BigQuery.date(), …). */
  const temporalArrays = [
    { type: 'DATE', values: [BigQuery.date('2024-01-01'), BigQuery.date('2024-02-29')], second: 'BigQueryDate:2024-02-29' },
    { type: 'DATETIME', values: [BigQuery.datetime('2024-01-01 00:00:00'), BigQuery.datetime('2024-02-29 12:34:56.5')], second: 'BigQueryDatetime:2024-02-29T12:34:56.500000' },
    { type: 'TIMESTAMP', values: [BigQuery.timestamp('2024-01-01T00:00:00Z'), BigQuery.timestamp('2024-02-29T12:34:56.123456Z')], second: 'BigQueryTimestamp:2024-02-29T12:34:56.123456000Z' },
    { type: 'TIME', values: [BigQuery.time('00:00:00'), BigQuery.time('12:34:56')], second: 'BigQueryTime:12:34:56' },
  ];

  it.each(temporalArrays)('reads an ARRAY<$type> parameter with OFFSET and UNNEST, named and positional', async ({ type, values, second }) => {
    const [named] = await bq.query({ query: 'SELECT @d[OFFSET(1)] AS v, (SELECT COUNT(x) FROM UNNEST(@d) AS x) AS n', params: { d: values }, types: { d: [type] } });
    expect(comparable(named)).toEqual([{ v: second, n: 2 }]);
    const [positional] = await bq.query({ query: 'SELECT ?[ORDINAL(2)] AS v', params: [values] });
    expect(comparable(positional)).toEqual([{ v: second }]);
  });

  it.each(SEMANTIC_CASES)('keeps GoogleSQL semantics: $name', async ({ query, expected }) => {
    const [rows] = await bq.query(query);
    const row = (rows as Record<string, unknown>[])[0] as Record<string, unknown>;
    if (expected === undefined) expect(Object.keys(row)).toEqual(['f0_']);
    else expect(comparable(row.v)).toEqual(expected);
  });

  it('pages 2,500 rows in pages of 1,000 with pageToken', async () => {
    const [job] = await bq.createQueryJob({ query: 'SELECT x FROM UNNEST(GENERATE_ARRAY(1, 2500)) AS x ORDER BY x' });
    const sizes: number[] = [];
    const seen: number[] = [];
    let pageToken: string | undefined;
    do {
      const options: Record<string, unknown> = { maxResults: 1000, autoPaginate: false };
      if (pageToken) options.pageToken = pageToken;
      const [rows, next, resp] = (await job.getQueryResults(options)) as unknown as [{ x: number }[], { pageToken?: string } | null, { totalRows?: string }];
      sizes.push(rows.length);
      seen.push(...rows.map((r) => r.x));
      expect(resp.totalRows).toBe('2500');
      pageToken = next?.pageToken;
    } while (pageToken);
    expect(sizes).toEqual([1000, 1000, 500]);
    expect(seen).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1));
  });

  it('auto-paginates a result larger than one page', async () => {
    const [job] = await bq.createQueryJob({ query: 'SELECT x FROM UNNEST(GENERATE_ARRAY(1, 45000)) AS x ORDER BY x' });
    const [rows] = (await job.getQueryResults()) as unknown as [{ x: number }[]];
    expect(rows).toHaveLength(45000);
    expect(rows[44999]).toEqual({ x: 45000 });
  });

  it('follows pageToken after a first jobs.query page of maxResults rows', async () => {
    const [rows] = (await bq.query({ query: 'SELECT x FROM UNNEST(GENERATE_ARRAY(1, 2500)) AS x ORDER BY x', maxResults: 1000 })) as unknown as [{ x: number }[]];
    expect(rows).toHaveLength(2500);
    expect(rows.map((r) => r.x)).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1));
  });

  it('caps auto-paginated results at maxResults (the client treats it as a total)', async () => {
    const [job] = await bq.createQueryJob({ query: 'SELECT x FROM UNNEST(GENERATE_ARRAY(1, 2500)) AS x ORDER BY x' });
    const [rows] = (await job.getQueryResults({ maxResults: 1000 })) as unknown as [{ x: number }[]];
    expect(rows).toHaveLength(1000);
    expect(rows[999]).toEqual({ x: 1000 });
  });

  it(
    'ends a job that exceeds jobTimeoutMs as DONE with reason timeout',
    async () => {
      const [job] = await bq.createQueryJob({ query: SLOW_QUERY, jobTimeoutMs: 300 });
      const metadata = await waitForState(job, 'DONE', opts.slowCaseTimeoutMs);
      const status = metadata.status as { state: string; errorResult?: { reason: string; message: string } };
      expect(status.state).toBe('DONE');
      expect(status.errorResult?.reason).toBe('timeout');
    },
    opts.slowCaseTimeoutMs + 5000,
  );

  it(
    'rejects bigquery.query() when the job exceeds jobTimeoutMs',
    async () => {
      const err = await rejectionOf(() => bq.query({ query: SLOW_QUERY, jobTimeoutMs: 300 }));
      expect(err.errors?.[0]?.reason ?? err.message).toMatch(/timeout|timed out/i);
    },
    opts.slowCaseTimeoutMs + 5000,
  );

  it(
    'stops a running job on cancel() and reports reason stopped',
    async () => {
      const [job] = await bq.createQueryJob({ query: SLOW_QUERY });
      await waitForState(job, 'RUNNING', opts.slowCaseTimeoutMs);
      await job.cancel();
      const metadata = await waitForState(job, 'DONE', opts.slowCaseTimeoutMs);
      const status = metadata.status as { state: string; errorResult?: { reason: string } };
      expect(status.state).toBe('DONE');
      expect(status.errorResult?.reason).toBe('stopped');
    },
    opts.slowCaseTimeoutMs * 2 + 5000,
  );

  let events: Table;
  it('creates a table whose metadata keeps timePartitioning, clustering and labels', async () => {
    [events] = await bq.dataset(datasetId).createTable('events', {
      schema: [
        { name: 'id', type: 'STRING', mode: 'REQUIRED' },
        { name: 'ts', type: 'TIMESTAMP' },
        { name: 'amount', type: 'NUMERIC' },
        { name: 'tags', type: 'STRING', mode: 'REPEATED' },
        { name: 'attrs', type: 'RECORD', fields: [{ name: 'k', type: 'STRING' }, { name: 'v', type: 'INT64' }] },
      ],
      timePartitioning: { type: 'DAY', field: 'ts', expirationMs: '7776000000' },
      clustering: { fields: ['id'] },
      labels: { team: 'data', env: 'test' },
      description: 'event stream',
    });
    const [metadata] = (await events.getMetadata()) as unknown as [Record<string, unknown>];
    expect(metadata.timePartitioning).toEqual({ type: 'DAY', field: 'ts', expirationMs: '7776000000' });
    expect(metadata.clustering).toEqual({ fields: ['id'] });
    expect(metadata.labels).toEqual({ team: 'data', env: 'test' });
    expect(metadata.description).toBe('event stream');
    const fields = (metadata.schema as { fields: { name: string; type: string; mode?: string; fields?: unknown[] }[] }).fields;
    expect(fields.map((f) => [f.name, f.type, f.mode ?? 'NULLABLE'])).toEqual([
      ['id', 'STRING', 'REQUIRED'],
      ['ts', 'TIMESTAMP', 'NULLABLE'],
      ['amount', 'NUMERIC', 'NULLABLE'],
      ['tags', 'STRING', 'REPEATED'],
      ['attrs', 'RECORD', 'NULLABLE'],
    ]);
    expect(fields[4]?.fields).toHaveLength(2);
  });

  it('creates a dataset whose metadata keeps labels and description', async () => {
    const [metadata] = (await bq.dataset(datasetId).getMetadata()) as unknown as [Record<string, unknown>];
    expect(metadata.labels).toEqual({ suite: 'conformance' });
    expect(metadata.description).toBe('conformance dataset');
  });

  it('stores one row when the same insertId is sent twice', async () => {
    const row = { insertId: 'dup-1', json: { id: 'a', ts: '2024-03-06T10:00:00Z', amount: '1.5', tags: ['x'], attrs: { k: 'k', v: 1 } } };
    await events.insert([row], { raw: true });
    await events.insert([row], { raw: true });
    const [rows] = await bq.query({ query: `SELECT COUNT(*) AS n FROM \`${datasetId}.events\` WHERE id = 'a'` });
    expect(rows).toEqual([{ n: 1 }]);
  });

  it('stores two rows for two different insertIds', async () => {
    await events.insert(
      [
        { insertId: 'b-1', json: { id: 'b', tags: [] } },
        { insertId: 'b-2', json: { id: 'b', tags: [] } },
      ],
      { raw: true },
    );
    const [rows] = await bq.query({ query: `SELECT COUNT(*) AS n FROM \`${datasetId}.events\` WHERE id = 'b'` });
    expect(rows).toEqual([{ n: 2 }]);
  });

  it('reads nested and repeated columns back with their JS types', async () => {
    const [rows] = await bq.query({ query: `SELECT id, ts, amount, tags, attrs FROM \`${datasetId}.events\` WHERE id = @id`, params: { id: 'a' } });
    expect(comparable(rows)).toEqual([
      { id: 'a', ts: 'BigQueryTimestamp:2024-03-06T10:00:00.000Z', amount: 'Big:1.5', tags: ['x'], attrs: { k: 'k', v: 1 } },
    ]);
  });

  it('rejects a row with an unknown field with reason invalid and keeps the others out', async () => {
    const err = await rejectionOf(() =>
      events.insert(
        [
          { insertId: 'c-1', json: { id: 'c' } },
          { insertId: 'c-2', json: { id: 'c', nope: 1 } },
        ],
        { raw: true, partialRetries: 0 },
      ),
    );
    const failures = (err as unknown as { errors: { errors: { reason: string }[] }[] }).errors;
    const reasons = failures.map((f) => f.errors[0]?.reason).sort();
    expect(reasons).toEqual(['invalid', 'stopped']);
    const [rows] = await bq.query({ query: `SELECT COUNT(*) AS n FROM \`${datasetId}.events\` WHERE id = 'c'` });
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('skips only the invalid row when skipInvalidRows is set', async () => {
    await rejectionOf(() =>
      events.insert(
        [
          { insertId: 'd-1', json: { id: 'd' } },
          { insertId: 'd-2', json: { ts: 'not a timestamp', id: 'd' } },
        ],
        { raw: true, skipInvalidRows: true, partialRetries: 0 },
      ),
    );
    const [rows] = await bq.query({ query: `SELECT COUNT(*) AS n FROM \`${datasetId}.events\` WHERE id = 'd'` });
    expect(rows).toEqual([{ n: 1 }]);
  });

  it('pages table rows with getRows({maxResults}) and pageToken', async () => {
    const [table] = await bq.dataset(datasetId).createTable('numbers', { schema: [{ name: 'n', type: 'INT64' }] });
    await table.insert(Array.from({ length: 25 }, (_, i) => ({ n: i })));
    const sizes: number[] = [];
    const seen: number[] = [];
    let pageToken: string | undefined;
    do {
      const options: Record<string, unknown> = { maxResults: 10, autoPaginate: false };
      if (pageToken) options.pageToken = pageToken;
      const [rows, next] = (await table.getRows(options)) as unknown as [{ n: number }[], { pageToken?: string } | null];
      sizes.push(rows.length);
      seen.push(...rows.map((r) => r.n));
      pageToken = next?.pageToken;
    } while (pageToken);
    expect(sizes).toEqual([10, 10, 5]);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    const [all] = (await table.getRows()) as unknown as [{ n: number }[]];
    expect(all).toHaveLength(25);
  });

  it('returns only selectedFields from getRows', async () => {
    const [rows] = (await events.getRows({ selectedFields: 'id', maxResults: 1 })) as unknown as [Record<string, unknown>[]];
    expect(Object.keys(rows[0] ?? {})).toEqual(['id']);
  });

  it('runs INSERT, UPDATE and DELETE DML and reports affected rows', async () => {
    const [table] = await bq.dataset(datasetId).createTable('dml', { schema: [{ name: 'k', type: 'STRING' }, { name: 'v', type: 'INT64' }] });
    const q = (query: string, params?: Record<string, unknown>): Promise<unknown> => bq.query(params ? { query, params } : { query });
    await q(`INSERT INTO \`${datasetId}.dml\` (k, v) VALUES ('a', 1), ('b', 2), (@k, @v)`, { k: 'c', v: 3 });
    await q(`UPDATE \`${datasetId}.dml\` SET v = v * 10 WHERE k != 'a'`);
    await q(`DELETE FROM \`${datasetId}.dml\` WHERE k = 'b'`);
    const [rows] = await table.query(`SELECT k, v FROM \`${datasetId}.dml\` ORDER BY k`);
    expect(rows).toEqual([
      { k: 'a', v: 1 },
      { k: 'c', v: 30 },
    ]);
  });

  it('answers a missing table with code 404 and reason notFound', async () => {
    const err = await rejectionOf(() => bq.dataset(datasetId).table('missing').getMetadata());
    expect(err.code).toBe(404);
    expect(err.errors?.[0]?.reason).toBe('notFound');
    expect(err.message).toContain(`${datasetId}.missing`);
  });

  it('answers a query on a missing table with code 404 and reason notFound', async () => {
    const err = await rejectionOf(() => bq.query(`SELECT * FROM \`${datasetId}.missing\``));
    expect(err.code).toBe(404);
    expect(err.errors?.[0]?.reason).toBe('notFound');
  });

  it('answers creating an existing table with code 409 and reason duplicate', async () => {
    const err = await rejectionOf(() => bq.dataset(datasetId).createTable('events', { schema: [{ name: 'x', type: 'STRING' }] }));
    expect(err.code).toBe(409);
    expect(err.errors?.[0]?.reason).toBe('duplicate');
  });

  it('answers creating an existing dataset with code 409 and reason duplicate', async () => {
    const err = await rejectionOf(() => bq.createDataset(datasetId));
    expect(err.code).toBe(409);
    expect(err.errors?.[0]?.reason).toBe('duplicate');
  });

  it('answers bad SQL with code 400 and reason invalidQuery', async () => {
    const err = await rejectionOf(() => bq.query('SELECT no_such_column FROM UNNEST([1]) AS x'));
    expect(err.code).toBe(400);
    expect(err.errors?.[0]?.reason).toBe('invalidQuery');
  });

  it('keeps job labels and returns them from jobs.get', async () => {
    const [job] = await bq.createQueryJob({ query: 'SELECT 1 AS x', labels: { origin: 'conformance' } });
    const [metadata] = (await job.getMetadata()) as unknown as [{ configuration: { labels?: Record<string, string> } }];
    expect(metadata.configuration.labels).toEqual({ origin: 'conformance' });
  });

  it('lists tables and patches table labels', async () => {
    const [tables] = await bq.dataset(datasetId).getTables();
    expect(tables.map((t) => t.id)).toEqual(expect.arrayContaining(['events', 'numbers']));
    await events.setMetadata({ labels: { env: 'prod', team: null } as unknown as Record<string, string> });
    const [metadata] = (await events.getMetadata()) as unknown as [Record<string, unknown>];
    expect(metadata.labels).toEqual({ env: 'prod' });
  });
}

/** The column list of the usage table the pipeline worker replaces per (org, provider, day). */
const USAGE_SCHEMA = [
  { name: 'usage_date', type: 'DATE', mode: 'REQUIRED' },
  { name: 'org_slug', type: 'STRING', mode: 'REQUIRED' },
  { name: 'provider', type: 'STRING', mode: 'REQUIRED' },
  { name: 'model', type: 'STRING', mode: 'REQUIRED' },
  { name: 'input_tokens', type: 'INT64', mode: 'REQUIRED' },
  { name: 'cost_usd', type: 'NUMERIC', mode: 'REQUIRED' },
  { name: 'loaded_at', type: 'TIMESTAMP', mode: 'REQUIRED' },
];

/** The pipeline worker's replace-one-day script (DELETE + INSERT … FROM UNNEST(@rows) in one transaction). */
export function replaceDayScript(table: string): string {
  return `BEGIN TRANSACTION;
DELETE FROM \`${table}\` WHERE org_slug = @org AND provider = @provider AND usage_date = @date;
INSERT INTO \`${table}\` (usage_date, org_slug, provider, model, input_tokens, cost_usd, loaded_at)
SELECT r.usage_date, r.org_slug, r.provider, r.model, r.input_tokens, r.cost_usd, r.loaded_at FROM UNNEST(@rows) AS r;
COMMIT TRANSACTION;`;
}

/** `n` usage rows of one (org, provider, day) as query-parameter values. */
export function usageRows(n: number, day: string, tag: string): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    usage_date: BigQuery.date(day),
    org_slug: 'acme',
    provider: 'openai',
    model: `${tag}-${i}`,
    input_tokens: i,
    cost_usd: new Big(`${i}.125`),
    loaded_at: BigQuery.timestamp('2024-05-01T00:00:00Z'),
  }));
}

/** The ARRAY<STRUCT<…>> type of {@link usageRows} for `types` (needed when the array is empty). */
export const USAGE_ROWS_TYPE = [
  { usage_date: 'DATE', org_slug: 'STRING', provider: 'STRING', model: 'STRING', input_tokens: 'INT64', cost_usd: 'NUMERIC', loaded_at: 'TIMESTAMP' },
];

/**
 * Scripts, transactions, DDL and copy jobs: what a pipeline load and a
 * partitioning migration use. Call inside a `describe`; creates and deletes
 * `datasetId`.
 */
export function defineScriptConformanceCases(client: () => BigQuery, datasetId: string): void {
  let bq: BigQuery;
  const usage = `${datasetId}.usage`;

  beforeAll(async () => {
    bq = client();
    await bq.createDataset(datasetId);
    await bq.dataset(datasetId).createTable('usage', { schema: USAGE_SCHEMA });
  });

  afterAll(async () => {
    await bq?.dataset(datasetId).delete({ force: true });
  });

  const countDay = async (day: string): Promise<number> => {
    const [rows] = await bq.query({ query: `SELECT COUNT(*) AS n FROM \`${usage}\` WHERE usage_date = @d`, params: { d: BigQuery.date(day) } });
    return (rows as { n: number }[])[0]?.n ?? -1;
  };

  it('replaces one day in a transaction, and a re-run leaves exactly one copy', async () => {
    const params = { org: 'acme', provider: 'openai', date: BigQuery.date('2024-05-01'), rows: usageRows(50, '2024-05-01', 'a') };
    await bq.query({ query: replaceDayScript(usage), params });
    await bq.query({ query: replaceDayScript(usage), params });
    expect(await countDay('2024-05-01')).toBe(50);
    const [rows] = await bq.query(`SELECT SUM(cost_usd) AS c, MIN(loaded_at) AS t FROM \`${usage}\` WHERE usage_date = '2024-05-01'`);
    expect(comparable(rows)).toEqual([{ c: 'Big:1231.25', t: 'BigQueryTimestamp:2024-05-01T00:00:00.000Z' }]);
  });

  it('reports the DML row counts of a script in its child jobs', async () => {
    const params = { org: 'acme', provider: 'openai', date: BigQuery.date('2024-05-01'), rows: usageRows(20, '2024-05-01', 'b') };
    const [job] = await bq.createQueryJob({ query: replaceDayScript(usage), params });
    await job.getQueryResults();
    const [metadata] = (await job.getMetadata()) as unknown as [{ statistics: { query: { statementType: string }; numChildJobs: string } }];
    expect(metadata.statistics.query.statementType).toBe('SCRIPT');
    expect(Number(metadata.statistics.numChildJobs)).toBe(4);
    const [children] = await bq.getJobs({ parentJobId: job.id as string });
    const stats = children.map((c) => (c.metadata as { statistics: { query: { statementType: string; numDmlAffectedRows?: string } } }).statistics.query);
    const byType = Object.fromEntries(stats.filter((s) => s.numDmlAffectedRows !== undefined).map((s) => [s.statementType, Number(s.numDmlAffectedRows)]));
    expect(byType).toEqual({ DELETE: 50, INSERT: 20 });
  });

  it('reports numDmlAffectedRows and dmlStats of a single DML statement', async () => {
    const [job] = await bq.createQueryJob({ query: `UPDATE \`${usage}\` SET input_tokens = input_tokens + 1 WHERE usage_date = '2024-05-01'` });
    await job.getQueryResults();
    const [metadata] = (await job.getMetadata()) as unknown as [{ statistics: { query: { numDmlAffectedRows: string; dmlStats: Record<string, string> } } }];
    expect(metadata.statistics.query.numDmlAffectedRows).toBe('20');
    expect(metadata.statistics.query.dmlStats.updatedRowCount).toBe('20');
  });

  it('rolls back the whole transaction when a statement fails, and the job fails with its error', async () => {
    const before = await countDay('2024-05-01');
    const err = await rejectionOf(() =>
      bq.query({
        query: `BEGIN TRANSACTION;
DELETE FROM \`${usage}\` WHERE usage_date = @date;
INSERT INTO \`${usage}\` (usage_date, org_slug, provider, model, input_tokens, cost_usd, loaded_at) VALUES (NULL, 'x', 'x', 'x', 1, 1, CURRENT_TIMESTAMP());
COMMIT TRANSACTION;`,
        params: { date: BigQuery.date('2024-05-01') },
      }),
    );
    expect(err.code).toBe(400);
    expect(await countDay('2024-05-01')).toBe(before);
  });

  it('discards a transaction ended by ROLLBACK TRANSACTION', async () => {
    const before = await countDay('2024-05-01');
    await bq.query(`BEGIN TRANSACTION; DELETE FROM \`${usage}\` WHERE usage_date = '2024-05-01'; ROLLBACK TRANSACTION;`);
    expect(await countDay('2024-05-01')).toBe(before);
  });

  it('returns the last SELECT of a script', async () => {
    const [rows] = await bq.query({ query: 'SELECT 1 AS a; SELECT @x AS b', params: { x: 'shared' } });
    expect(rows).toEqual([{ b: 'shared' }]);
  });

  it('creates a partitioned, clustered table with CTAS and reports the layout in tables.get', async () => {
    await bq.query(`CREATE TABLE \`${datasetId}.usage_part\`
PARTITION BY usage_date
CLUSTER BY org_slug, provider
OPTIONS(require_partition_filter = true, description = 'rebuilt')
AS SELECT * FROM \`${usage}\``);
    const [meta] = (await bq.dataset(datasetId).table('usage_part').getMetadata()) as unknown as [Record<string, unknown>];
    expect(meta.timePartitioning).toMatchObject({ type: 'DAY', field: 'usage_date' });
    expect(meta.clustering).toEqual({ fields: ['org_slug', 'provider'] });
    expect(meta.requirePartitionFilter).toBe(true);
    expect(meta.description).toBe('rebuilt');
    expect(meta.numRows).toBe('20');
  });

  it('partitions by DATE(timestamp column)', async () => {
    await bq.query(`CREATE TABLE \`${datasetId}.by_ts\` PARTITION BY DATE(loaded_at) AS SELECT loaded_at, model FROM \`${usage}\``);
    const [meta] = (await bq.dataset(datasetId).table('by_ts').getMetadata()) as unknown as [Record<string, unknown>];
    expect(meta.timePartitioning).toMatchObject({ type: 'DAY', field: 'loaded_at' });
  });

  it('refuses CREATE TABLE of an existing table with 409, skips it with IF NOT EXISTS', async () => {
    const err = await rejectionOf(() => bq.query(`CREATE TABLE \`${datasetId}.by_ts\` AS SELECT 1 AS x`));
    expect(err.code).toBe(409);
    await bq.query(`CREATE TABLE IF NOT EXISTS \`${datasetId}.by_ts\` AS SELECT 1 AS x`);
    const [meta] = (await bq.dataset(datasetId).table('by_ts').getMetadata()) as unknown as [{ schema: { fields: { name: string }[] } }];
    expect(meta.schema.fields.map((f) => f.name)).toEqual(['loaded_at', 'model']);
  });

  it('copies a table with CREATE TABLE … COPY, keeping partitioning and clustering', async () => {
    await bq.query(`CREATE TABLE \`${datasetId}.usage_part_copy\` COPY \`${datasetId}.usage_part\``);
    const [meta] = (await bq.dataset(datasetId).table('usage_part_copy').getMetadata()) as unknown as [Record<string, unknown>];
    expect(meta.timePartitioning).toMatchObject({ type: 'DAY', field: 'usage_date' });
    expect(meta.clustering).toEqual({ fields: ['org_slug', 'provider'] });
    expect(meta.numRows).toBe('20');
  });

  it('renames with ALTER TABLE RENAME TO and drops with DROP TABLE [IF EXISTS]', async () => {
    await bq.query(`ALTER TABLE \`${datasetId}.usage_part_copy\` RENAME TO usage_part_renamed`);
    const [exists] = await bq.dataset(datasetId).table('usage_part_copy').exists();
    expect(exists).toBe(false);
    const [rows] = await bq.query(`SELECT COUNT(*) AS n FROM \`${datasetId}.usage_part_renamed\` WHERE usage_date >= '2000-01-01'`);
    expect(rows).toEqual([{ n: 20 }]);
    await bq.query(`DROP TABLE \`${datasetId}.usage_part_renamed\``);
    await bq.query(`DROP TABLE IF EXISTS \`${datasetId}.usage_part_renamed\``);
    const err = await rejectionOf(() => bq.query(`DROP TABLE \`${datasetId}.usage_part_renamed\``));
    expect(err.code).toBe(404);
  });

  it('runs copy jobs with WRITE_EMPTY, WRITE_TRUNCATE and CREATE_NEVER', async () => {
    const ds = bq.dataset(datasetId);
    await ds.table('usage_part').copy(ds.table('copied'));
    const [meta] = (await ds.table('copied').getMetadata()) as unknown as [Record<string, unknown>];
    expect(meta.timePartitioning).toMatchObject({ type: 'DAY', field: 'usage_date' });
    expect(meta.clustering).toEqual({ fields: ['org_slug', 'provider'] });
    expect(meta.numRows).toBe('20');
    const again = await rejectionOf(() => ds.table('usage_part').copy(ds.table('copied')));
    // A copy job fails as a job (status.errorResult), not as an HTTP error: only the reason is set.
    expect(again.errors?.[0]?.reason).toBe('duplicate');
    await bq.query(`CREATE TABLE \`${datasetId}.usage_small\` PARTITION BY usage_date CLUSTER BY org_slug, provider AS SELECT * FROM \`${usage}\` WHERE input_tokens < 5`);
    await ds.table('usage_small').copy(ds.table('copied'), { writeDisposition: 'WRITE_TRUNCATE' });
    const [after] = (await ds.table('copied').getMetadata()) as unknown as [{ numRows: string; timePartitioning: { field: string } }];
    expect(after.numRows).toBe('4');
    expect(after.timePartitioning.field).toBe('usage_date');
    const never = await rejectionOf(() => ds.table('usage_part').copy(ds.table('nowhere'), { createDisposition: 'CREATE_NEVER' }));
    expect(never.errors?.[0]?.reason).toBe('notFound');
  });

  it('estimates bytes in a dry run without running anything', async () => {
    const [job] = await bq.createQueryJob({ query: `CREATE TABLE \`${datasetId}.never\` AS SELECT * FROM \`${usage}\``, dryRun: true });
    const stats = (job.metadata as { statistics: { totalBytesProcessed: string } }).statistics;
    expect(Number(stats.totalBytesProcessed)).toBeGreaterThan(0);
    const [exists] = await bq.dataset(datasetId).table('never').exists();
    expect(exists).toBe(false);
  });

  it('aborts one of two overlapping transactions that replace different days of one table: "Transaction is aborted due to concurrent update"', async () => {
    // Its own table: the cases above count every row of `usage`.
    const table = `${datasetId}.tx_usage`;
    await bq.dataset(datasetId).createTable('tx_usage', { schema: USAGE_SCHEMA });
    for (const day of ['2024-06-10', '2024-06-11']) {
      await bq.query({ query: replaceDayScript(table), params: { org: 'acme', provider: 'openai', date: BigQuery.date(day), rows: usageRows(2, day, 'old') } });
    }
    // The first deletes its day, then computes the rows it inserts for a while.
    const [first] = await bq.createQueryJob({
      query: `BEGIN TRANSACTION;
DELETE FROM \`${table}\` WHERE usage_date = '2024-06-10';
INSERT INTO \`${table}\` (usage_date, org_slug, provider, model, input_tokens, cost_usd, loaded_at)
SELECT DATE '2024-06-10', 'acme', 'openai', 'new', COUNT(*), 0, CURRENT_TIMESTAMP() FROM (${SLOWISH_QUERY});
COMMIT TRANSACTION;`,
    });
    await untilChildRuns(bq, first.id as string, 'DELETE');
    // The second replaces another day — another partition — of the same table meanwhile.
    const second = bq.query({ query: replaceDayScript(table), params: { org: 'acme', provider: 'openai', date: BigQuery.date('2024-06-11'), rows: usageRows(3, '2024-06-11', 'new') } });

    const outcomes = await Promise.allSettled([first.getQueryResults(), second]);

    const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as ClientError] : []));
    expect(failures).toHaveLength(1);
    expect(failures[0]?.code).toBe(400);
    expect(failures[0]?.errors?.[0]?.reason).toBe('invalidQuery');
    expect(failures[0]?.message).toMatch(/Transaction is aborted due to concurrent update against table/);
    // The winner's day holds its new rows; the loser's day its old ones, untouched.
    const [rows] = await bq.query(`SELECT CAST(usage_date AS STRING) AS day, COUNTIF(model = 'new' OR STARTS_WITH(model, 'new-')) AS fresh, COUNTIF(STARTS_WITH(model, 'old-')) AS old FROM \`${table}\` GROUP BY day ORDER BY day`);
    const loserIsFirst = outcomes[0].status === 'rejected';
    expect(rows).toEqual([
      { day: '2024-06-10', fresh: loserIsFirst ? 0 : 1, old: loserIsFirst ? 2 : 0 },
      { day: '2024-06-11', fresh: loserIsFirst ? 3 : 0, old: loserIsFirst ? 0 : 2 },
    ]);
  }, 120_000);
}

/**
 * `require_partition_filter`: a query that reads such a table (SELECT, UPDATE,
 * DELETE, a CTAS, a statement of a script, a dry run) without a filter on the
 * partitioning column that BigQuery can use for partition elimination fails
 * with 400 `invalidQuery`; writes (INSERT), copies and tabledata.list need no
 * filter. Call inside a `describe`; creates and deletes `datasetId`.
 */
export function definePartitionFilterConformanceCases(client: () => BigQuery, datasetId: string): void {
  let bq: BigQuery;
  const events = `\`${datasetId}.events\``;
  const stamped = `\`${datasetId}.stamped\``;
  const refusal = (table: string, column: string): string =>
    `Cannot query over table '${datasetId}.${table}' without a filter over column(s) '${column}' that can be used for partition elimination`;

  beforeAll(async () => {
    bq = client();
    await bq.createDataset(datasetId);
    await bq.query(`CREATE TABLE ${events} (day DATE NOT NULL, kind STRING, n INT64)
PARTITION BY day OPTIONS(require_partition_filter = TRUE)`);
    await bq.query(`CREATE TABLE ${stamped} (ts TIMESTAMP NOT NULL, kind STRING)
PARTITION BY DATE(ts) CLUSTER BY kind OPTIONS(require_partition_filter = TRUE)`);
    // Writing needs no filter.
    await bq.query(`INSERT INTO ${events} (day, kind, n) VALUES (DATE '2024-05-01', 'a', 1), (DATE '2024-05-02', 'b', 2), (DATE '2024-05-03', 'a', 3)`);
    await bq.query(`INSERT INTO ${stamped} (ts, kind) VALUES (TIMESTAMP '2024-05-01 10:00:00+00', 'a')`);
  });

  afterAll(async () => {
    await bq?.dataset(datasetId).delete({ force: true });
  });

  const accepted: { name: string; query: string; params?: Record<string, unknown>; n: number }[] = [
    { name: 'a range that selects every partition', query: `SELECT COUNT(*) AS n FROM ${events} WHERE day >= DATE '1900-01-01'`, n: 3 },
    { name: 'equality with a DATE parameter', query: `SELECT COUNT(*) AS n FROM ${events} WHERE day = @d`, params: { d: BigQuery.date('2024-05-02') }, n: 1 },
    { name: 'BETWEEN beside another predicate', query: `SELECT COUNT(*) AS n FROM ${events} WHERE kind = 'a' AND day BETWEEN '2024-05-01' AND '2024-05-02'`, n: 1 },
    { name: 'IN a list of constants', query: `SELECT COUNT(*) AS n FROM ${events} WHERE day IN (DATE '2024-05-01', DATE '2024-05-03')`, n: 2 },
    { name: 'a constant expression on the left, through an alias', query: `SELECT COUNT(*) AS n FROM ${events} AS e WHERE DATE_SUB(DATE '2024-05-04', INTERVAL 2 DAY) <= e.day`, n: 2 },
    { name: 'a nullable-safe filter over every partition', query: `SELECT COUNT(*) AS n FROM ${events} WHERE (day IS NULL OR day >= DATE '0001-01-01')`, n: 3 },
    { name: 'the filter inside a CTE', query: `WITH e AS (SELECT * FROM ${events} WHERE day >= '2024-05-02') SELECT COUNT(*) AS n FROM e`, n: 2 },
    { name: 'a TIMESTAMP partitioning column', query: `SELECT COUNT(*) AS n FROM ${stamped} WHERE ts >= TIMESTAMP '0001-01-01 00:00:00+00'`, n: 1 },
  ];

  it.each(accepted)('reads a table requiring a partition filter with $name', async ({ query, params, n }) => {
    const [rows] = await bq.query(params ? { query, params } : { query });
    expect(rows).toEqual([{ n }]);
  });

  const refused: { name: string; query: string; table?: string; column?: string }[] = [
    { name: 'SELECT without WHERE', query: `SELECT COUNT(*) AS n FROM ${events}` },
    { name: 'a filter on another column only', query: `SELECT COUNT(*) AS n FROM ${events} WHERE kind = 'a'` },
    { name: 'the partition filter in an OR with another column', query: `SELECT COUNT(*) AS n FROM ${events} WHERE day = '2024-05-01' OR kind = 'a'` },
    { name: 'UPDATE without a partition filter', query: `UPDATE ${events} SET n = n + 1 WHERE kind = 'a'` },
    { name: 'DELETE without a partition filter', query: `DELETE FROM ${events} WHERE kind = 'zzz'` },
    { name: 'CTAS without a partition filter', query: `CREATE TABLE \`${datasetId}.never\` AS SELECT * FROM ${events}` },
    { name: 'a statement of a transaction', query: `BEGIN TRANSACTION;\nDELETE FROM ${events} WHERE kind = 'zzz';\nCOMMIT TRANSACTION;` },
    { name: 'a TIMESTAMP-partitioned table without a filter', query: `SELECT kind FROM ${stamped} WHERE kind = 'a'`, table: 'stamped', column: 'ts' },
  ];

  it.each(refused)('refuses $name with 400 invalidQuery naming table and column', async ({ query, table = 'events', column = 'day' }) => {
    const err = await rejectionOf(() => bq.query(query));
    expect(err.code).toBe(400);
    expect(err.errors?.[0]?.reason).toBe('invalidQuery');
    expect(err.message).toContain(refusal(table, column));
  });

  it('refuses a dry run without a partition filter', async () => {
    const err = await rejectionOf(() => bq.createQueryJob({ query: `SELECT * FROM ${events}`, dryRun: true }));
    expect(err.code).toBe(400);
    expect(err.message).toContain(refusal('events', 'day'));
  });

  it('runs UPDATE and DELETE that filter the partitioning column', async () => {
    const [job] = await bq.createQueryJob({ query: `UPDATE ${events} SET n = n * 10 WHERE day = '2024-05-01' AND kind = 'a'` });
    await job.getQueryResults();
    const [metadata] = (await job.getMetadata()) as unknown as [{ statistics: { query: { numDmlAffectedRows: string } } }];
    expect(metadata.statistics.query.numDmlAffectedRows).toBe('1');
    await bq.query(`BEGIN TRANSACTION;\nDELETE FROM ${events} WHERE day >= '1900-01-01' AND kind = 'zzz';\nCOMMIT TRANSACTION;`);
    const [rows] = await bq.query(`SELECT SUM(n) AS n FROM ${events} WHERE day >= '1900-01-01'`);
    expect(rows).toEqual([{ n: 15 }]);
  });

  it('lists rows (tabledata.list) and copies the table without a filter', async () => {
    const [rows] = await bq.dataset(datasetId).table('events').getRows();
    expect(rows).toHaveLength(3);
    await bq.dataset(datasetId).table('events').copy(bq.dataset(datasetId).table('events_copy'));
    const [meta] = (await bq.dataset(datasetId).table('events_copy').getMetadata()) as unknown as [Record<string, unknown>];
    expect(meta.numRows).toBe('3');
  });
}

/**
 * The local BigQuery endpoint, driven through the real `@google-cloud/bigquery`
 * client (plus a few raw REST calls where the client hides the wire format).
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localBigQueryOptions, startBigQueryEndpoint } from '../../../dev/bigquery/index.js';
import type { BigQueryEndpoint } from '../../../dev/bigquery/index.js';
import { startBigQueryProcess } from '../../../dev/bigquery/process.js';
import { isAlive } from '../../../dev/isAlive.js';
import { SUPPORTED_FUNCTIONS } from '../../../dev/bigquery/sql/index.js';
import { defineConformanceCases, definePartitionFilterConformanceCases, defineScriptConformanceCases, rejectionOf, replaceDayScript, SEMANTIC_CASES, SLOW_QUERY, SLOWISH_QUERY, untilChildRuns, usageRows } from './conformance.js';
import { FUNCTION_CASES } from './functionCases.js';
import { defineByteEstimateConformanceCases } from './bytesConformance.js';
import { defineMergeConformanceCases } from './mergeConformance.js';

let endpoint: BigQueryEndpoint;
let bigquery: BigQuery;

beforeAll(async () => {
  endpoint = await startBigQueryEndpoint({ port: 0 });
  // The documented configuration: a custom apiEndpoint and nothing else.
  bigquery = new BigQuery({ projectId: 'local-project', apiEndpoint: endpoint.url });
});

afterAll(async () => {
  await endpoint?.close();
});

/** Raw REST call for wire-level assertions. */
async function rest(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const init: RequestInit = { method, headers: { 'content-type': 'application/json' } };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(`${endpoint.url}/bigquery/v2/projects/local-project${path}`, init);
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe('the local endpoint through the real client', () => {
  defineConformanceCases(() => bigquery, 'conformance_local', { slowCaseTimeoutMs: 5000 });
});

describe('scripts, transactions, DDL and copy jobs through the real client', () => {
  defineScriptConformanceCases(() => bigquery, 'conformance_scripts_local');
});

describe('require_partition_filter through the real client', () => {
  definePartitionFilterConformanceCases(() => bigquery, 'conformance_partition_filter_local');
});

describe('dry-run byte estimates through the real client', () => {
  defineByteEstimateConformanceCases(() => bigquery, 'conformance_bytes_local');
});

describe('MERGE through the real client', () => {
  defineMergeConformanceCases(() => bigquery, 'conformance_merge_local');
});

describe('unsupported GoogleSQL', () => {
  const cases: { query: string; names: string }[] = [
    { query: 'SELECT * FROM ML.PREDICT(MODEL `ds.m`, (SELECT 1))', names: 'ML.PREDICT' },
    { query: 'DECLARE x INT64 DEFAULT 1', names: 'DECLARE' },
    { query: 'BEGIN SELECT 1; END', names: 'BEGIN … END blocks' },
    { query: 'SELECT 1; DECLARE x INT64', names: 'statement DECLARE' },
    { query: 'SELECT ? AS a; SELECT 2 AS b', names: 'positional (?) parameters in multi-statement queries' },
    { query: 'CREATE SNAPSHOT TABLE conformance_local.s CLONE conformance_local.events', names: 'CREATE SNAPSHOT TABLE' },
    { query: 'CREATE VIEW conformance_local.v AS SELECT 1 AS x', names: 'CREATE VIEW' },
    { query: 'ALTER TABLE conformance_local.events ADD COLUMN x INT64', names: 'ALTER TABLE ADD' },
    { query: 'CREATE TABLE conformance_local.a (xs ARRAY<INT64>)', names: 'column type ARRAY' },
    { query: "CREATE TABLE conformance_local.a (x INT64) OPTIONS(kms_key_name='k')", names: 'OPTIONS(kms_key_name' },
    { query: 'CREATE TABLE conformance_local.a PARTITION BY RANGE_BUCKET(x, GENERATE_ARRAY(0, 10, 1)) AS SELECT 1 AS x', names: 'RANGE_BUCKET' },
    { query: 'SELECT * FROM conformance_local.events FOR SYSTEM_TIME AS OF CURRENT_TIMESTAMP()', names: 'FOR SYSTEM_TIME AS OF' },
    { query: "SELECT * FROM read_csv('/etc/passwd')", names: 'table-valued function read_csv' },
    { query: "SELECT read_csv('/etc/passwd')", names: 'function READ_CSV' },
    { query: 'SELECT NET.HOST("https://x.y")', names: 'NET.HOST' },
    { query: 'SELECT SAFE.SUBSTR("abc", 1)', names: 'SAFE.' },
    { query: '#legacySQL\nSELECT 1', names: 'legacy SQL' },
    { query: 'SELECT * FROM `local-project.ds.INFORMATION_SCHEMA.TABLES`', names: 'INFORMATION_SCHEMA' },
    { query: 'SELECT * FROM `ds.events_*`', names: 'wildcard table' },
    { query: 'SELECT ARRAY(SELECT 1)', names: 'ARRAY(subquery)' },
    { query: 'SELECT 1 :: INT64', names: 'operator ::' },
  ];

  it.each(cases)('rejects $names with 400 invalidQuery naming it', async ({ query, names }) => {
    const err = await rejectionOf(() => bigquery.query(query));
    expect(err.code).toBe(400);
    expect(err.errors?.[0]?.reason).toBe('invalidQuery');
    expect(err.message).toContain(names);
  });

  it('rejects legacy SQL jobs with 400', async () => {
    const err = await rejectionOf(() => bigquery.query({ query: 'SELECT 1', useLegacySql: true }));
    expect(err.code).toBe(400);
    expect(err.message).toMatch(/legacy SQL/);
  });

  it('answers a table in a foreign project with 404 notFound', async () => {
    const err = await rejectionOf(() => bigquery.query('SELECT * FROM `other-project.ds.t`'));
    expect(err.code).toBe(404);
    expect(err.errors?.[0]?.reason).toBe('notFound');
  });
});

describe('function allow-list audit', () => {
  it('has an audited case for every allow-listed function', () => {
    const queries = [...FUNCTION_CASES, ...SEMANTIC_CASES].map((c) => c.query.toUpperCase());
    const unaudited = SUPPORTED_FUNCTIONS.filter((f) => !queries.some((q) => new RegExp(`(^|[^A-Z0-9_])${f}\\b`).test(q)));
    expect(unaudited).toEqual([]);
  });

  // Removed from the allow-list by the audit: DuckDB's reverse() keeps grapheme
  // clusters together and has no BYTES form, so its answer can differ.
  it.each(['REVERSE'])('answers the removed function %s with a clear 400', async (fn) => {
    const err = await rejectionOf(() => bigquery.query(`SELECT ${fn}('abc') AS v`));
    expect(err.code).toBe(400);
    expect(err.errors?.[0]?.reason).toBe('invalidQuery');
    expect(err.message).toBe(`Unsupported by the local BigQuery endpoint: function ${fn}`);
  });
});

describe('engine error text', () => {
  /** Words that only the engine underneath (DuckDB) or the translated SQL would use. */
  const ENGINE_VOCABULARY =
    /Binder Error|Conversion Error|Parser Error|Catalog Error|Invalid Input Error|Out of Range Error|INTERNAL Error|LINE \d+:|TRY_CAST|DuckDB|BIGINT|VARCHAR|HUGEINT|BLOB|INTEGER_LITERAL|list_extract|struct_pack|__unnest|Candidate|bigquery-local|error\(/;

  const badQueries = [
    'SELECT no_such_column',
    'SELECT x FROM UNNEST([1]) AS x WHERE y = 1',
    "SELECT 1 + 'a'",
    'SELECT LENGTH(1)',
    "SELECT SUBSTR(b'abc', 1)",
    "SELECT CAST('x' AS INT64)",
    "SELECT CAST('1.5' AS INT64)",
    "SELECT CAST('2024-13-01' AS DATE)",
    "SELECT CAST('x' AS TIMESTAMP)",
    "SELECT CAST('x' AS TIME)",
    "SELECT CAST('x' AS NUMERIC)",
    "SELECT CAST(b'\\xff' AS STRING)",
    'SELECT x, COUNT(*) FROM UNNEST([1]) AS x',
    'SELECT SUM(COUNT(*)) FROM UNNEST([1]) AS x',
    'SELECT 1 / 0',
    'SELECT DIV(1, 0)',
    'SELECT MOD(1, 0)',
    'SELECT 9223372036854775807 + 1',
    'SELECT -9223372036854775807 - 2',
    'SELECT [1, 2][OFFSET(5)]',
    'SELECT [1, 2][ORDINAL(0)]',
    'SELECT LN(0)',
    'SELECT SQRT(-1)',
    "SELECT REGEXP_CONTAINS('a', '(')",
    'SELECT GENERATE_ARRAY(1, 10, 0)',
    "SELECT LPAD('a', -1)",
    "SELECT DATE_ADD(DATE '2024-01-01', INTERVAL 'x' DAY)",
    'SELECT x.y FROM UNNEST([1]) AS x',
  ];

  it.each(badQueries)('answers %s with a BigQuery-shaped 400 and no engine vocabulary', async (query) => {
    const { status, json } = await rest('POST', '/queries', { query, useLegacySql: false });
    expect(status).toBe(400);
    const error = json.error as { code: number; message: string; status: string; errors: { reason: string; message: string; domain: string }[] };
    expect(error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT', errors: [{ reason: 'invalidQuery', domain: 'global' }] });
    expect(error.message.length).toBeGreaterThan(0);
    expect(error.errors[0]?.message).toBe(error.message);
    expect(JSON.stringify(json)).not.toMatch(ENGINE_VOCABULARY);
  });

  it('keeps engine text out of a failed job fetched through the client', async () => {
    const err = await rejectionOf(() => bigquery.query("SELECT CAST('x' AS INT64) AS v"));
    expect(err.message).toBe('Bad int64 value: x');
    expect(JSON.stringify(err.errors)).not.toMatch(ENGINE_VOCABULARY);
  });
});

describe('wire format and REST details', () => {
  it('renders errors in BigQuery JSON shape', async () => {
    const { status, json } = await rest('GET', '/datasets/nope/tables/nothing');
    expect(status).toBe(404);
    expect(json).toEqual({
      error: {
        code: 404,
        message: 'Not found: Dataset local-project:nope',
        status: 'NOT_FOUND',
        errors: [{ reason: 'notFound', message: 'Not found: Dataset local-project:nope', domain: 'global' }],
      },
    });
  });

  it('renders every scalar as a string and TIMESTAMP as float seconds unless useInt64Timestamp', async () => {
    const query = "SELECT 1 AS i, 1.5 AS f, TRUE AS b, TIMESTAMP '2023-11-14 22:13:20.123456+00' AS ts, [1, 2] AS a, STRUCT(1 AS x) AS s, CAST(NULL AS STRING) AS n";
    const plain = await rest('POST', '/queries', { query, useLegacySql: false });
    expect(plain.json.rows).toEqual([
      { f: [{ v: '1' }, { v: '1.5' }, { v: 'true' }, { v: '1700000000.123456' }, { v: [{ v: '1' }, { v: '2' }] }, { v: { f: [{ v: '1' }] } }, { v: null }] },
    ]);
    const int64 = await rest('POST', '/queries', { query, useLegacySql: false, formatOptions: { useInt64Timestamp: true } });
    expect(((int64.json.rows as { f: { v: unknown }[] }[])[0]?.f[3] as { v: unknown }).v).toBe('1700000000123456');
    expect((int64.json.schema as { fields: unknown[] }).fields).toEqual([
      { name: 'i', type: 'INTEGER', mode: 'NULLABLE' },
      { name: 'f', type: 'FLOAT', mode: 'NULLABLE' },
      { name: 'b', type: 'BOOLEAN', mode: 'NULLABLE' },
      { name: 'ts', type: 'TIMESTAMP', mode: 'NULLABLE' },
      { name: 'a', type: 'INTEGER', mode: 'REPEATED' },
      { name: 's', type: 'RECORD', mode: 'NULLABLE', fields: [{ name: 'x', type: 'INTEGER', mode: 'NULLABLE' }] },
      { name: 'n', type: 'STRING', mode: 'NULLABLE' },
    ]);
  });

  it('returns jobComplete false from getQueryResults while a job is still running', async () => {
    const inserted = await rest('POST', '/jobs', { configuration: { query: { query: SLOW_QUERY, useLegacySql: false } } });
    const jobId = (inserted.json.jobReference as { jobId: string }).jobId;
    const pending = await rest('GET', `/queries/${jobId}?timeoutMs=50`);
    expect(pending.json.jobComplete).toBe(false);
    const cancelled = await rest('POST', `/jobs/${jobId}/cancel`);
    expect(cancelled.json.kind).toBe('bigquery#jobCancelResponse');
    const failed = await rest('GET', `/queries/${jobId}?timeoutMs=5000`);
    expect(failed.status).toBe(400);
    expect((failed.json.error as { errors: { reason: string }[] }).errors[0]?.reason).toBe('stopped');
  });

  it('says "Job timed out after" in the timeout errorResult', async () => {
    const [job] = await bigquery.createQueryJob({ query: SLOW_QUERY, jobTimeoutMs: 200 });
    const err = await rejectionOf(() => job.promise());
    expect(err.message).toMatch(/Job timed out after 0\.2s/);
  });

  it('pages with startIndex as well as pageToken', async () => {
    const first = await rest('POST', '/queries', { query: 'SELECT x FROM UNNEST(GENERATE_ARRAY(1, 30)) AS x ORDER BY x', useLegacySql: false, maxResults: 10 });
    expect(first.json.totalRows).toBe('30');
    expect(first.json.pageToken).toBeTruthy();
    const jobId = (first.json.jobReference as { jobId: string }).jobId;
    const page = await rest('GET', `/queries/${jobId}?startIndex=25&maxResults=10`);
    expect((page.json.rows as { f: { v: string }[] }[]).map((r) => r.f[0]?.v)).toEqual(['26', '27', '28', '29', '30']);
    expect(page.json.pageToken).toBeUndefined();
  });

  it('returns the schema of a dry run without running it', async () => {
    const [, resp] = (await bigquery.createQueryJob({ query: 'SELECT 1 AS a, "x" AS b', dryRun: true })) as unknown as [unknown, { statistics: { query: { schema: { fields: { name: string; type: string }[] } } } }];
    expect(resp.statistics.query.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['a:INTEGER', 'b:STRING']);
  });

  it('rejects parameters that do not match the query', async () => {
    const err = await rejectionOf(() => bigquery.query({ query: 'SELECT @a AS a', params: { b: 1 } }));
    expect(err.code).toBe(400);
    expect(err.message).toMatch(/Query parameter 'a' not found/);
  });

  it('keeps labels sent with jobs.query', async () => {
    const res = await rest('POST', '/queries', { query: 'SELECT 1', useLegacySql: false, labels: { via: 'jobs-query' } });
    const jobId = (res.json.jobReference as { jobId: string }).jobId;
    const job = await rest('GET', `/jobs/${jobId}`);
    expect((job.json.configuration as { labels: unknown }).labels).toEqual({ via: 'jobs-query' });
  });

  it('refuses to delete a non-empty dataset without deleteContents', async () => {
    await bigquery.createDataset('busy');
    await bigquery.dataset('busy').createTable('t', { schema: [{ name: 'x', type: 'STRING' }] });
    const err = await rejectionOf(() => bigquery.dataset('busy').delete());
    expect(err.code).toBe(400);
    expect(err.errors?.[0]?.reason).toBe('resourceInUse');
    await bigquery.dataset('busy').delete({ force: true });
  });

  it('adds a column with a schema patch', async () => {
    await bigquery.createDataset('evolve');
    const [table] = await bigquery.dataset('evolve').createTable('t', { schema: [{ name: 'a', type: 'STRING' }] });
    await table.setMetadata({ schema: [{ name: 'a', type: 'STRING' }, { name: 'b', type: 'INT64' }] });
    await table.insert([{ a: 'x', b: 2 }]);
    const [rows] = await bigquery.query('SELECT a, b FROM evolve.t');
    expect(rows).toEqual([{ a: 'x', b: 2 }]);
  });

  it('counts requests and jobs in stats()', () => {
    const stats = endpoint.stats();
    expect(stats.requests).toBeGreaterThan(10);
    expect(stats.jobsTimedOut).toBeGreaterThanOrEqual(2);
    expect(stats.jobsCancelled).toBeGreaterThanOrEqual(1);
    expect(stats.rowsDeduplicated).toBeGreaterThanOrEqual(1);
  });
});

describe('concurrency', () => {
  it('keeps every row when insertAll and INSERT DML hit the same table concurrently', async () => {
    await bigquery.createDataset('busy_writes');
    const [table] = await bigquery.dataset('busy_writes').createTable('t', { schema: [{ name: 'src', type: 'STRING' }, { name: 'n', type: 'INT64' }] });
    const streams = Array.from({ length: 10 }, (_, i) => table.insert(Array.from({ length: 50 }, (_, j) => ({ src: 'stream', n: i * 50 + j }))));
    const dml = Array.from({ length: 10 }, (_, i) => bigquery.query({ query: 'INSERT INTO busy_writes.t (src, n) VALUES (@src, @n)', params: { src: 'dml', n: i } }));
    await Promise.all([...streams, ...dml]);
    const [rows] = await bigquery.query('SELECT src, COUNT(*) AS n FROM busy_writes.t GROUP BY src ORDER BY src');
    expect(rows).toEqual([
      { src: 'dml', n: 10 },
      { src: 'stream', n: 500 },
    ]);
  });

  it('runs a fast query while a slow one occupies another connection', async () => {
    const [slow] = await bigquery.createQueryJob({ query: SLOW_QUERY });
    const started = Date.now();
    const [rows] = await bigquery.query('SELECT 42 AS answer');
    expect(rows).toEqual([{ answer: 42 }]);
    expect(Date.now() - started).toBeLessThan(2000);
    await slow.cancel();
  });
});

describe('shutdown', () => {
  it('closes promptly while a job is still running', async () => {
    const ep = await startBigQueryEndpoint();
    const client = new BigQuery({ projectId: 'local-project', apiEndpoint: ep.url });
    const [job] = await client.createQueryJob({ query: SLOW_QUERY });
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.message);
    };
    process.on('warning', onWarning);
    const started = Date.now();
    try {
      await ep.close();
    } finally {
      process.off('warning', onWarning);
    }
    // The query runs for minutes; close interrupts it. Seconds on a busy machine, not the
    // 10 s grace after which the database would be left open (and a warning emitted).
    expect(Date.now() - started).toBeLessThan(8000);
    expect(warnings.filter((w) => w.includes('still running'))).toEqual([]);
    expect(job.id).toBeTruthy();
  });
});

describe('client configuration', () => {
  it('works with localBigQueryOptions(), which skips credential lookup entirely', async () => {
    const client = new BigQuery(localBigQueryOptions(endpoint.url));
    const [rows] = await client.query({ query: 'SELECT @x * 2 AS y', params: { x: 21 } });
    expect(rows).toEqual([{ y: 42 }]);
  });
});

describe('persistence', () => {
  it('keeps datasets, tables, metadata and rows in a DuckDB file across restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bq-local-'));
    const dataPath = join(dir, 'bq.duckdb');
    try {
      const first = await startBigQueryEndpoint({ dataPath });
      const c1 = new BigQuery({ projectId: 'local-project', apiEndpoint: first.url });
      await c1.createDataset('kept', { labels: { keep: 'yes' } });
      const [t] = await c1.dataset('kept').createTable('t', { schema: [{ name: 'v', type: 'STRING' }], clustering: { fields: ['v'] } });
      await t.insert([{ v: 'persisted' }]);
      await first.close();

      const second = await startBigQueryEndpoint({ dataPath });
      try {
        const c2 = new BigQuery({ projectId: 'local-project', apiEndpoint: second.url });
        const [rows] = await c2.query('SELECT v FROM kept.t');
        expect(rows).toEqual([{ v: 'persisted' }]);
        const [meta] = (await c2.dataset('kept').table('t').getMetadata()) as unknown as [Record<string, unknown>];
        expect(meta.clustering).toEqual({ fields: ['v'] });
        const [dsMeta] = (await c2.dataset('kept').getMetadata()) as unknown as [Record<string, unknown>];
        expect(dsMeta.labels).toEqual({ keep: 'yes' });
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CLI', () => {
  it(
    'prints one JSON line with bigquery_url and exits cleanly on SIGTERM',
    async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'dev/bigquery/main.ts', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const line = await firstLine(child, 'CLI');
      const { bigquery_url } = JSON.parse(line) as { bigquery_url: string };
      expect(bigquery_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await fetch(`${bigquery_url}/healthz`);
      expect(health.status).toBe(200);
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
    },
    20_000,
  );
});

describe('in a process of its own (startBigQueryProcess, as the local stack runs it)', () => {
  it(
    'answers, and stop() ends the process',
    async () => {
      const endpoint = await startBigQueryProcess({ dataPath: ':memory:' });
      try {
        expect((await fetch(`${endpoint.url}/healthz`)).status).toBe(200);
      } finally {
        await endpoint.stop();
      }
      expect(isAlive(endpoint.pid)).toBe(false);
      await expect(fetch(`${endpoint.url}/healthz`)).rejects.toThrow();
    },
    30_000,
  );

  it(
    'does not outlive an owner killed outright (SIGKILL: no cleanup of its own runs)',
    async () => {
      const owner = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/dev/bigqueryOwner.ts'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const { pid, url } = JSON.parse(await firstLine(owner, 'the owner')) as { pid: number; url: string };
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      owner.kill('SIGKILL');
      const until = Date.now() + 15_000;
      while (isAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect(isAlive(pid)).toBe(false);
    },
    40_000,
  );
});

/** Starts the endpoint CLI on a data file; resolves with its URL once it prints its JSON line. */
async function startCli(dataPath: string): Promise<{ url: string; child: ReturnType<typeof spawn> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'dev/bigquery/main.ts', '--port', '0', '--data', dataPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const line = await firstLine(child, 'CLI');
  return { url: (JSON.parse(line) as { bigquery_url: string }).bigquery_url, child };
}

/** The first line `child` prints; rejects, with what it printed, if it exits first. */
function firstLine(child: ChildProcess, who: string): Promise<string> {
  let out = '';
  return new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`${who} exited early with ${code}: ${out}`)));
  });
}

const USAGE_FIELDS = [
  { name: 'usage_date', type: 'DATE', mode: 'REQUIRED' },
  { name: 'org_slug', type: 'STRING', mode: 'REQUIRED' },
  { name: 'provider', type: 'STRING', mode: 'REQUIRED' },
  { name: 'model', type: 'STRING', mode: 'REQUIRED' },
  { name: 'input_tokens', type: 'INT64', mode: 'REQUIRED' },
  { name: 'cost_usd', type: 'NUMERIC', mode: 'REQUIRED' },
  { name: 'loaded_at', type: 'TIMESTAMP', mode: 'REQUIRED' },
];

describe('scripts: load size, concurrency and crashes (local endpoint only)', () => {
  beforeAll(async () => {
    await bigquery.createDataset('scripts_local');
    await bigquery.dataset('scripts_local').createTable('usage', { schema: USAGE_FIELDS });
  });

  it('replaces a day of 10,000 rows from one ARRAY<STRUCT> parameter (timed)', async () => {
    const rows = usageRows(10_000, '2024-06-01', 'big');
    const params = { org: 'acme', provider: 'openai', date: BigQuery.date('2024-06-01'), rows };
    const started = performance.now();
    await bigquery.query({ query: replaceDayScript('scripts_local.usage'), params });
    const firstMs = performance.now() - started;
    const again = performance.now();
    const [job] = await bigquery.createQueryJob({ query: replaceDayScript('scripts_local.usage'), params });
    await job.getQueryResults();
    const secondMs = performance.now() - again;
    const stats = (await job.getMetadata())[0] as { statistics: { startTime: string; endTime: string } };
    const serverMs = Number(stats.statistics.endTime) - Number(stats.statistics.startTime);
    console.log(`10k-row replace script: first load ${firstMs.toFixed(0)} ms, replace ${secondMs.toFixed(0)} ms end to end (${serverMs} ms running in the endpoint)`);
    const [out] = await bigquery.query("SELECT COUNT(*) AS n, SUM(input_tokens) AS t FROM scripts_local.usage WHERE usage_date = '2024-06-01'");
    expect(out).toEqual([{ n: 10_000, t: (9_999 * 10_000) / 2 }]);
    expect(secondMs).toBeLessThan(10_000);
  });

  it('aborts overlapping transactions on one table as BigQuery does; retried as a client retries, no row is lost or doubled', async () => {
    let aborted = 0;
    /** Runs one replace, again after each concurrent-update abort (the error clients treat as transient). */
    const replace = async (params: Record<string, unknown>): Promise<void> => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          await bigquery.query({ query: replaceDayScript('scripts_local.usage'), params });
          return;
        } catch (error) {
          const err = error as { code?: number; errors?: { reason?: string }[]; message?: string };
          if (err.code !== 400 || err.errors?.[0]?.reason !== 'invalidQuery' || !/Transaction is aborted due to concurrent update/.test(err.message ?? '') || attempt === 50) throw error;
          aborted += 1;
          await new Promise((r) => setTimeout(r, Math.random() * 50));
        }
      }
    };
    // 6 re-loads of the same day with different sizes and 6 loads of distinct days, all at once.
    const same = [5, 7, 11, 13, 17, 19].map((n, i) => replace({ org: 'acme', provider: 'openai', date: BigQuery.date('2024-07-01'), rows: usageRows(n, '2024-07-01', `s${i}`) }));
    const distinct = [1, 2, 3, 4, 5, 6].map((d) => replace({ org: 'acme', provider: 'openai', date: BigQuery.date(`2024-08-0${d}`), rows: usageRows(10 * d, `2024-08-0${d}`, 'd') }));
    await Promise.all([...same, ...distinct]);

    // The conflict is per table: loads of different days abort each other too.
    expect(aborted).toBeGreaterThan(0);
    const [sameDay] = await bigquery.query("SELECT COUNT(*) AS n, COUNT(DISTINCT SPLIT(model, '-')[OFFSET(0)]) AS loads FROM scripts_local.usage WHERE usage_date = '2024-07-01'");
    const row = (sameDay as { n: number; loads: number }[])[0] as { n: number; loads: number };
    expect(row.loads).toBe(1);
    expect([5, 7, 11, 13, 17, 19]).toContain(row.n);
    const [days] = await bigquery.query("SELECT usage_date, COUNT(*) AS n FROM scripts_local.usage WHERE usage_date >= '2024-08-01' GROUP BY usage_date ORDER BY usage_date");
    expect((days as { n: number }[]).map((d) => d.n)).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('aborts the later committer of two overlapping transactions — at its COMMIT, with BigQuery\'s error — and keeps the first', async () => {
    await bigquery.query({ query: replaceDayScript('scripts_local.usage'), params: { org: 'acme', provider: 'openai', date: BigQuery.date('2024-09-01'), rows: usageRows(3, '2024-09-01', 'old') } });
    // A: deletes its day, then spends seconds computing the rows it inserts.
    const [slow] = await bigquery.createQueryJob({
      query: `BEGIN TRANSACTION;
DELETE FROM scripts_local.usage WHERE usage_date = '2024-09-01';
INSERT INTO scripts_local.usage (usage_date, org_slug, provider, model, input_tokens, cost_usd, loaded_at)
SELECT DATE '2024-09-01', 'acme', 'openai', 'slow', COUNT(*), 0, CURRENT_TIMESTAMP() FROM (${SLOWISH_QUERY});
COMMIT TRANSACTION;`,
    });
    await untilChildRuns(bigquery, slow.id as string, 'DELETE');
    // B: another day of the same table, begun after A and committed while A still computes.
    await bigquery.query({ query: replaceDayScript('scripts_local.usage'), params: { org: 'acme', provider: 'openai', date: BigQuery.date('2024-09-02'), rows: usageRows(4, '2024-09-02', 'fast') } });

    const err = await rejectionOf(() => slow.getQueryResults());

    expect(err.code).toBe(400);
    expect(err.errors?.[0]?.reason).toBe('invalidQuery');
    // Line 5 is A's COMMIT TRANSACTION: where BigQuery finds that B's commit came first.
    expect(err.message).toMatch(/^Query error: Transaction is aborted due to concurrent update against table local-project:scripts_local\.usage\. Transaction ID: [0-9a-f-]{36} at \[5:1\]$/);
    const [out] = await bigquery.query("SELECT usage_date, COUNT(*) AS n, COUNTIF(STARTS_WITH(model, 'old')) AS old FROM scripts_local.usage WHERE usage_date IN ('2024-09-01', '2024-09-02') GROUP BY usage_date ORDER BY usage_date");
    expect((out as { n: number; old: number }[]).map(({ n, old }) => ({ n, old }))).toEqual([
      { n: 3, old: 3 }, // A rolled back: the old rows of its day are there, untouched
      { n: 4, old: 0 }, // B committed
    ]);
  }, 60_000);

  it('queues a DML statement outside a transaction behind a transaction on its table: neither fails', async () => {
    const [slow] = await bigquery.createQueryJob({
      query: `BEGIN TRANSACTION;
DELETE FROM scripts_local.usage WHERE usage_date = '2024-09-03';
INSERT INTO scripts_local.usage (usage_date, org_slug, provider, model, input_tokens, cost_usd, loaded_at)
SELECT DATE '2024-09-03', 'acme', 'openai', 'slow', COUNT(*), 0, CURRENT_TIMESTAMP() FROM (${SLOWISH_QUERY});
COMMIT TRANSACTION;`,
    });
    await untilChildRuns(bigquery, slow.id as string, 'DELETE');

    await bigquery.query("INSERT INTO scripts_local.usage (usage_date, org_slug, provider, model, input_tokens, cost_usd, loaded_at) VALUES ('2024-09-04', 'acme', 'openai', 'plain', 1, 0, CURRENT_TIMESTAMP())");
    const [metadata] = (await slow.getMetadata()) as unknown as [{ status: { state: string; errorResult?: unknown } }];

    // The plain INSERT waited for the whole transaction, which then committed unharmed.
    expect(metadata.status).toEqual({ state: 'DONE' });
    const [out] = await bigquery.query("SELECT usage_date, COUNT(*) AS n FROM scripts_local.usage WHERE usage_date IN ('2024-09-03', '2024-09-04') GROUP BY usage_date ORDER BY usage_date");
    expect((out as { n: number }[]).map((r) => r.n)).toEqual([1, 1]);
  }, 60_000);

  it('lets two INSERT-only transactions on one table commit side by side, as BigQuery appends', async () => {
    const insertOnly = (tag: string): string => `BEGIN TRANSACTION;
INSERT INTO scripts_local.usage (usage_date, org_slug, provider, model, input_tokens, cost_usd, loaded_at)
SELECT DATE '2024-09-05', 'acme', 'openai', '${tag}', COUNT(*), 0, CURRENT_TIMESTAMP() FROM (${SLOWISH_QUERY});
COMMIT TRANSACTION;`;
    const [first] = await bigquery.createQueryJob({ query: insertOnly('first') });
    await untilChildRuns(bigquery, first.id as string, 'BEGIN_TRANSACTION');

    await bigquery.query(insertOnly('second'));
    await first.getQueryResults();

    const [out] = await bigquery.query("SELECT model FROM scripts_local.usage WHERE usage_date = '2024-09-05' ORDER BY model");
    expect(out).toEqual([{ model: 'first' }, { model: 'second' }]);
  }, 60_000);

  it('records each executed statement of a script as a child job, listed by parentJobId only', async () => {
    const [job] = await bigquery.createQueryJob({ query: 'SELECT 1 AS a; SELECT 2 AS b' });
    await job.getQueryResults();
    const [children] = await bigquery.getJobs({ parentJobId: job.id as string });
    expect(children).toHaveLength(2);
    const frames = children.map((c) => (c.metadata as { statistics: { parentJobId: string; scriptStatistics: { stackFrames: { text: string }[] } } }).statistics);
    expect(frames.every((f) => f.parentJobId === job.id)).toBe(true);
    expect(frames.map((f) => f.scriptStatistics.stackFrames[0]?.text).sort()).toEqual(['SELECT 1 AS a', 'SELECT 2 AS b']);
    const [topLevel] = await bigquery.getJobs({ maxResults: 1000 });
    expect(topLevel.some((j) => children.some((c) => c.id === j.id))).toBe(false);
  });

  it('fails a script that leaves its transaction open, and keeps nothing of it', async () => {
    const err = await rejectionOf(() => bigquery.query("BEGIN TRANSACTION; DELETE FROM scripts_local.usage WHERE usage_date = '2024-06-01'"));
    expect(err.message).toContain('not committed');
    const [out] = await bigquery.query("SELECT COUNT(*) AS n FROM scripts_local.usage WHERE usage_date = '2024-06-01'");
    expect(out).toEqual([{ n: 10_000 }]);
  });

  it('rejects DDL inside a transaction', async () => {
    const err = await rejectionOf(() => bigquery.query('BEGIN TRANSACTION; DROP TABLE scripts_local.usage; COMMIT TRANSACTION'));
    expect(err.message).toContain('not supported inside a transaction');
    const [exists] = await bigquery.dataset('scripts_local').table('usage').exists();
    expect(exists).toBe(true);
  });

  it('estimates dry-run bytes with BigQuery logical sizes (INT64 8 bytes, STRING 2 + length, NULL 0)', async () => {
    await bigquery.query("CREATE TABLE scripts_local.sized AS SELECT r.n AS n, r.s AS s FROM UNNEST([STRUCT(1 AS n, 'abc' AS s), STRUCT(2 AS n, CAST(NULL AS STRING) AS s)]) AS r");
    const [job] = await bigquery.createQueryJob({ query: 'SELECT n FROM scripts_local.sized', dryRun: true });
    // Only the column read: 2 × 8 (n); s (2 + 3, and 0 for the NULL) is not read.
    expect((job.metadata as { statistics: { totalBytesProcessed: string } }).statistics.totalBytesProcessed).toBe('16');
    const [both] = await bigquery.createQueryJob({ query: 'SELECT n, s FROM scripts_local.sized', dryRun: true });
    expect((both.metadata as { statistics: { totalBytesProcessed: string } }).statistics.totalBytesProcessed).toBe('21');
  });

  it(
    'a process killed in the middle of a transaction leaves the old rows',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'bq-kill-'));
      const dataPath = join(dir, 'bq.duckdb');
      try {
        const first = await startCli(dataPath);
        const c1 = new BigQuery({ projectId: 'local-project', apiEndpoint: first.url });
        await c1.createDataset('crash');
        await c1.dataset('crash').createTable('usage', { schema: USAGE_FIELDS });
        await c1.query({ query: replaceDayScript('crash.usage'), params: { org: 'acme', provider: 'openai', date: BigQuery.date('2024-05-01'), rows: usageRows(100, '2024-05-01', 'old') } });
        // DELETE runs at once; the INSERT then spends minutes in a huge join — kill the process there.
        const [job] = await c1.createQueryJob({
          query: `BEGIN TRANSACTION;
DELETE FROM crash.usage WHERE usage_date = '2024-05-01';
INSERT INTO crash.usage (usage_date, org_slug, provider, model, input_tokens, cost_usd, loaded_at)
SELECT DATE '2024-05-01', 'acme', 'openai', 'new', n, 0, CURRENT_TIMESTAMP() FROM (${SLOW_QUERY});
COMMIT TRANSACTION;`,
        });
        const deadline = Date.now() + 10_000;
        for (;;) {
          const [children] = await c1.getJobs({ parentJobId: job.id as string });
          if (children.some((c) => (c.metadata as { statistics: { query: { statementType: string } } }).statistics.query.statementType === 'DELETE')) break;
          if (Date.now() > deadline) throw new Error('DELETE never ran');
          await new Promise((r) => setTimeout(r, 50));
        }
        const exited = new Promise((r) => first.child.once('exit', r));
        first.child.kill('SIGKILL');
        await exited;

        const second = await startCli(dataPath);
        try {
          const c2 = new BigQuery({ projectId: 'local-project', apiEndpoint: second.url });
          const [rows] = await c2.query("SELECT COUNT(*) AS n, COUNTIF(model = 'new') AS fresh FROM crash.usage WHERE usage_date = '2024-05-01'");
          expect(rows).toEqual([{ n: 100, fresh: 0 }]);
        } finally {
          const done = new Promise((r) => second.child.once('exit', r));
          second.child.kill('SIGTERM');
          await done;
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});

/**
 * `shared/bigquery` through the real client against the local endpoint: what lands on the
 * job (labels, byte cap, timeout), what happens when a query outlives its budget, and
 * insertId de-duplication.
 */
import { randomBytes } from 'node:crypto';
import type { BigQuery, Job } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import { getBigQuery, insertIdFor, insertRows, mapBigQueryError, resetBigQueryConfig, runQuery } from '../../shared/bigquery/index.js';
import { Deadline, runWithDeadline } from '../../shared/deadline/index.js';
import { DeadlineExceededError, toAppError } from '../../shared/errors/index.js';
import { withLogContext } from '../../shared/log/index.js';

/** Keeps DuckDB busy for minutes: 4·10¹⁰ joined pairs. */
const SLOW_SQL =
  'SELECT COUNT(*) AS n FROM UNNEST(GENERATE_ARRAY(1, 200000)) AS a, UNNEST(GENERATE_ARRAY(1, 200000)) AS b WHERE MOD(a * b, 7) = 3';
const MAX_BYTES_BILLED = '123456789';
const DATASET = 'runtime_test';

let endpoint: BigQueryEndpoint;
let bq: BigQuery;

beforeAll(async () => {
  endpoint = await startBigQueryEndpoint({ port: 0 });
  process.env.BIGQUERY_API_ENDPOINT = endpoint.url;
  process.env.BIGQUERY_MAX_BYTES_BILLED = MAX_BYTES_BILLED;
  resetBigQueryConfig();
  bq = await getBigQuery();
  await bq.createDataset(DATASET);
  await bq.dataset(DATASET).createTable('events', {
    schema: { fields: [{ name: 'id', type: 'STRING', mode: 'REQUIRED' }, { name: 'n', type: 'INT64' }] },
  });
});

afterAll(async () => {
  await endpoint?.close();
});

const marker = (): string => `case_${randomBytes(5).toString('hex')}`;

/** The job carrying `test_case: <marker>` in its labels, found through the endpoint's job listing. */
async function jobLabelled(testCase: string): Promise<Job> {
  const [jobs] = await bq.getJobs({ maxResults: 200 });
  const job = jobs.find((j) => (j.metadata as { configuration?: { labels?: Record<string, string> } }).configuration?.labels?.test_case === testCase);
  if (job === undefined) throw new Error(`no job labelled ${testCase}`);
  return job;
}

interface JobResource {
  configuration: { labels?: Record<string, string>; jobTimeoutMs?: string; query: { maximumBytesBilled?: string } };
  status: { state: string; errorResult?: { reason?: string; message?: string } };
}

async function waitUntilDone(job: Job, timeoutMs = 10_000): Promise<JobResource> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const metadata = (await job.getMetadata())[0] as JobResource;
    if (metadata.status.state === 'DONE') return metadata;
    if (Date.now() > until) throw new Error(`job ${job.id ?? '?'} still ${metadata.status.state}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('runQuery', () => {
  it('answers a query BigQuery rejects as our own bug (500 INTERNAL), never as the caller\'s 400', async () => {
    const attempt = runQuery({ sql: 'SELECT NO_SUCH_FUNCTION(1) AS x' });

    await expect(attempt).rejects.toMatchObject({ code: 'INTERNAL', status: 500 });
  });

  it('labels the job with the function and org of the invocation and the caller labels, and caps its billed bytes', async () => {
    const testCase = marker();

    const rows = await withLogContext({ function: 'costs', org: 'Acme.Corp' }, () =>
      runQuery<{ one: number }>({ sql: 'SELECT @x AS one', params: { x: 1 }, labels: { test_case: testCase } }),
    );

    expect(rows).toEqual([{ one: 1 }]);
    const metadata = (await (await jobLabelled(testCase)).getMetadata())[0] as JobResource;
    expect(metadata.configuration.labels).toEqual({ function: 'costs', org: 'acme_corp', test_case: testCase });
    expect(metadata.configuration.query.maximumBytesBilled).toBe(MAX_BYTES_BILLED);
    // Outside an invocation the budget is the user tier itself.
    expect(metadata.configuration.jobTimeoutMs).toBe('30000');
  });

  it('gives the job the time left of the invocation, not the whole tier', async () => {
    const testCase = marker();
    const deadline = new Deadline({ timeoutMs: 5_000, safetyMarginMs: 1_000 });
    try {
      await runWithDeadline(deadline, () => runQuery({ sql: 'SELECT 1 AS one', labels: { test_case: testCase } }));
    } finally {
      deadline.dispose();
    }

    const metadata = (await (await jobLabelled(testCase)).getMetadata())[0] as JobResource;
    const jobTimeoutMs = Number(metadata.configuration.jobTimeoutMs);
    expect(jobTimeoutMs).toBeGreaterThan(3_000);
    expect(jobTimeoutMs).toBeLessThanOrEqual(4_000);
  });

  it('ends a query that outlives its budget in DEADLINE_EXCEEDED, and the endpoint shows the job stopped', async () => {
    const testCase = marker();
    // A 3 s function timeout minus the 1 s margin: about 2 s for the query.
    const deadline = new Deadline({ timeoutMs: 3_000, safetyMarginMs: 1_000 });
    const started = performance.now();

    const error = await runWithDeadline(deadline, () => runQuery({ sql: SLOW_SQL, labels: { test_case: testCase } })).then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = performance.now() - started;
    deadline.dispose();

    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect((error as DeadlineExceededError).status).toBe(504);
    expect(elapsed).toBeGreaterThan(1_500);
    expect(elapsed).toBeLessThan(4_000);
    const metadata = await waitUntilDone(await jobLabelled(testCase));
    expect(metadata.status.state).toBe('DONE');
    // Cancelled by runQuery (`stopped`) or by its own jobTimeoutMs (`timeout`), whichever came first.
    expect(metadata.status.errorResult?.reason).toMatch(/^(stopped|timeout)$/);
    expect(endpoint.stats().jobsRunning).toBe(0);
  });

  it('throws DEADLINE_EXCEEDED at once, without creating a job, when the invocation has no time left', async () => {
    const before = endpoint.stats().jobsCreated;
    const deadline = new Deadline({ timeoutMs: 1_000, safetyMarginMs: 1_000 });

    const error = await runWithDeadline(deadline, () => runQuery({ sql: 'SELECT 1' })).then(
      () => undefined,
      (e: unknown) => e,
    );
    deadline.dispose();

    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(endpoint.stats().jobsCreated).toBe(before);
  });
});

describe('insertRows', () => {
  it('stores a row once when it is inserted again with the same insertId, in the same request or a later one', async () => {
    const id = `row_${randomBytes(4).toString('hex')}`;
    const row = { insertId: insertIdFor('runtime_test', id), json: { id, n: 1 } };

    await insertRows({ dataset: DATASET, table: 'events', rows: [row, row] });
    await insertRows({ dataset: DATASET, table: 'events', rows: [row] });

    const [{ n }] = (await runQuery<{ n: number }>({ sql: `SELECT COUNT(*) AS n FROM \`${DATASET}.events\` WHERE id = @id`, params: { id } })) as [
      { n: number },
    ];
    expect(n).toBe(1);
  });

  it('makes nothing of an empty batch', async () => {
    const before = endpoint.stats().requests;

    await insertRows({ dataset: DATASET, table: 'events', rows: [] });

    expect(endpoint.stats().requests).toBe(before);
  });
});

describe('insertIdFor', () => {
  it.each([
    ['the same parts', ['org', '2024-01-01', 'openai', 'gpt-4o'], ['org', '2024-01-01', 'openai', 'gpt-4o'], true],
    ['parts that differ', ['org', '2024-01-01', 'openai', 'gpt-4o'], ['org', '2024-01-02', 'openai', 'gpt-4o'], false],
    ['parts that only concatenate alike', ['ab', 'c'], ['a', 'bc'], false],
    ['a number and its text', [1, 'x'], ['1', 'x'], true],
  ] as const)('gives %s %s ids', (_name, a, b, same) => {
    expect(insertIdFor(...a) === insertIdFor(...b)).toBe(same);
    expect(insertIdFor(...a)).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  });
});

describe('mapBigQueryError', () => {
  /** The client's ApiError as BigQuery's answer makes it. */
  const apiError = (code: number, reason: string, message: string): Error => Object.assign(new Error(message), { code, errors: [{ reason, message }] });

  it.each([
    {
      answer: 'a transaction aborted by a concurrent update of its table',
      error: apiError(400, 'invalidQuery', 'Query error: Transaction is aborted due to concurrent update against table p:org_acme.llm_usage_daily. Transaction ID: 61e30eea-0000-2dab-8e60-94eb2c1b1a92 at [7:1]'),
      code: 'UNAVAILABLE',
      retryable: true,
    },
    { answer: 'a DML statement that lost a concurrent update', error: apiError(400, 'invalidQuery', 'Could not serialize access to table p:d.t due to concurrent update'), code: 'UNAVAILABLE', retryable: true },
    { answer: 'another invalid query (our bug)', error: apiError(400, 'invalidQuery', 'Unrecognized name: x at [1:8]'), code: 'INTERNAL', retryable: true },
    { answer: 'a backend error', error: apiError(500, 'backendError', 'An internal error occurred'), code: 'UNAVAILABLE', retryable: true },
    { answer: 'a job past its jobTimeoutMs', error: apiError(400, 'timeout', 'Job timed out after 0.3s'), code: 'DEADLINE_EXCEEDED', retryable: true },
  ])('answers $answer with $code', ({ error, code, retryable }) => {
    const mapped = toAppError(mapBigQueryError(error, 1_000));

    expect(mapped.code).toBe(code);
    expect(mapped.retryable).toBe(retryable);
    expect(mapped.cause).toBe(error);
  });
});

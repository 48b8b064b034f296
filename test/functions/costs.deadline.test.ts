/**
 * A costs query that outlives its budget, through HTTP: the function is given a 3 s
 * timeout (≈ 2 s budget after the 1 s margin), and the endpoint a single query slot that a
 * long query holds — so the costs job waits for the engine the way a real job waits for
 * slots. The caller gets 504 in about 2 s and the endpoint shows the job stopped.
 */
import { BigQuery, type Job } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localBigQueryOptions, startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import { seedDemoUsage } from '../../dev/seedDemo.js';
import { call, closeFunctionRuntime, closeTestDb, createTenant, serveFunction, type ServedFunction, type TestTenant } from '../helpers/tenants.js';

const SLOW_SQL =
  'SELECT COUNT(*) AS n FROM UNNEST(GENERATE_ARRAY(1, 200000)) AS a, UNNEST(GENERATE_ARRAY(1, 200000)) AS b WHERE MOD(a * b, 7) = 3';

let endpoint: BigQueryEndpoint;
let bq: BigQuery;
let fn: ServedFunction;
let org: TestTenant;

beforeAll(async () => {
  endpoint = await startBigQueryEndpoint({ port: 0, maxConcurrentJobs: 1 });
  bq = new BigQuery(localBigQueryOptions(endpoint.url));
  // Set before the function module loads: it reads its configuration at import.
  process.env.FUNCTION_NAME = 'costs';
  process.env.FUNCTION_TIMEOUT_SECONDS = '3';
  process.env.COSTS_CACHE_TTL_MS = '0';
  process.env.BIGQUERY_API_ENDPOINT = endpoint.url;
  await import('../../functions/costs/index.js');
  fn = await serveFunction('costs');
  org = await createTenant({ slugPrefix: 'costs_slow' });
  await seedDemoUsage({ orgSlug: org.orgSlug, days: 30, endDate: '2024-03-31', bigqueryUrl: endpoint.url });
});

afterAll(async () => {
  await fn?.close();
  await closeTestDb();
  await closeFunctionRuntime();
  await endpoint?.close();
});

interface JobResource {
  configuration?: { labels?: Record<string, string>; jobTimeoutMs?: string };
  status: { state: string; errorResult?: { reason?: string } };
}

async function waitFor(job: Job, state: 'RUNNING' | 'DONE', timeoutMs = 10_000): Promise<JobResource> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const metadata = (await job.getMetadata())[0] as JobResource;
    if (metadata.status.state === state) return metadata;
    if (Date.now() > until) throw new Error(`job ${job.id ?? '?'} still ${metadata.status.state}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a costs query that outlives its budget', () => {
  it('answers 504 DEADLINE_EXCEEDED within the function timeout and leaves the job stopped on the endpoint', async () => {
    const [blocker] = await bq.createQueryJob({ query: SLOW_SQL });
    await waitFor(blocker, 'RUNNING');
    const started = performance.now();

    let res: Awaited<ReturnType<typeof call>>;
    try {
      res = await call(fn.url, org.apiKey, 'GET', '/v1/costs?from=2024-03-01&to=2024-03-31&group_by=model');
    } finally {
      await blocker.cancel();
    }
    const elapsed = performance.now() - started;

    expect(res.status).toBe(504);
    expect((res.body as { error: { code: string } }).error.code).toBe('DEADLINE_EXCEEDED');
    expect(elapsed).toBeGreaterThan(1_500);
    expect(elapsed).toBeLessThan(3_000);
    const [jobs] = await bq.getJobs({ maxResults: 100 });
    const costsJobs = jobs.filter((j) => {
      const labels = (j.metadata as JobResource).configuration?.labels;
      return labels?.org === org.orgSlug && labels.endpoint === 'costs';
    });
    expect(costsJobs).toHaveLength(1);
    const metadata = await waitFor(costsJobs[0] as Job, 'DONE');
    expect(metadata.status.errorResult?.reason).toMatch(/^(stopped|timeout)$/);
    expect(metadata.configuration?.labels).toMatchObject({ function: 'costs', group_by: 'model' });
    expect(Number(metadata.configuration?.jobTimeoutMs)).toBeLessThanOrEqual(2_000);
  });

  it('answers the same query normally once the engine is free again', async () => {
    const until = Date.now() + 10_000;
    while (endpoint.stats().jobsRunning > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));

    const res = await call(fn.url, org.apiKey, 'GET', '/v1/costs?from=2024-03-01&to=2024-03-31&group_by=model');

    expect(res.status).toBe(200);
    expect((res.body as { rows: unknown[] }).rows.length).toBeGreaterThan(0);
  });
});

/**
 * A costs query that outlives its budget, through HTTP: the function is given a 3 s
 * timeout (≈ 2 s budget after the 1 s margin), and the endpoint a single query slot that a
 * long query holds — so the costs job waits for the engine the way a real job waits for
 * slots. The caller gets 504 in about 2 s and the endpoint shows the job stopped.
 */
import { BigQuery, type Job } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localBigQueryOptions, startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import { ensureDatasetDefinition, LLM_BILLED_COST_DAILY, LLM_USAGE_DAILY, orgDataset, orgDatasetId } from '../../shared/analytics/index.js';
import { parseBigQueryConfig } from '../../shared/bigquery/index.js';
import { contractAt } from '../helpers/apiContract.js';
import { call, closeFunctionRuntime, closeTestDb, createTenant, serveFunction, type ServedFunction, type TestTenant } from '../helpers/tenants.js';

const SLOW_SQL =
  'SELECT COUNT(*) AS n FROM UNNEST(GENERATE_ARRAY(1, 200000)) AS a, UNNEST(GENERATE_ARRAY(1, 200000)) AS b WHERE MOD(a * b, 7) = 3';

let endpoint: BigQueryEndpoint;
let bq: BigQuery;
let fn: ServedFunction;
let org: TestTenant;

/** A month of one model's usage and its bill, written straight into the org's tables. */
async function seedMonth(orgSlug: string): Promise<void> {
  const { location } = parseBigQueryConfig({ ...process.env, BIGQUERY_API_ENDPOINT: endpoint.url });
  await ensureDatasetDefinition(bq, orgDataset(orgSlug), { location });
  const days = Array.from({ length: 31 }, (_, i) => `2024-03-${String(i + 1).padStart(2, '0')}`);
  const dataset = bq.dataset(orgDatasetId(orgSlug));
  await dataset.table(LLM_USAGE_DAILY.tableId).insert(
    days.map((date) => ({
      usage_date: date,
      org_slug: orgSlug,
      provider: 'openai',
      model: 'gpt-4o-2024-08-06',
      requests: 10,
      input_tokens: 1500,
      output_tokens: 300,
      cost_usd: '0.006750000',
      pipeline_run_id: 'run-test',
      loaded_at: `${date}T02:00:00Z`,
      source: 'openai_usage_daily',
      service_tier: 'standard',
      tokens_input_uncached: 1000,
      tokens_input_cached: 500,
      tokens_cache_write_5m: 0,
      tokens_cache_write_1h: 0,
      tokens_output: 300,
      tokens_input_audio: 0,
      tokens_output_audio: 0,
      tokens_input_image: 0,
      unpriced_tokens: 0,
    })),
  );
  await dataset.table(LLM_BILLED_COST_DAILY.tableId).insert(
    days.map((date) => ({ usage_date: date, org_slug: orgSlug, provider: 'openai', source: 'openai_usage_daily', billed_cost_usd: '0.0067', loaded_at: `${date}T02:00:00Z` })),
  );
}

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
  // The response check reads the function's document once per origin: read it now, so the
  // timed call below measures the call alone.
  await contractAt(fn.url);
  org = await createTenant({ slugPrefix: 'costs_slow' });
  await seedMonth(org.orgSlug);
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
    expect((res.body as { rows: unknown[]; totals: unknown }).rows).toHaveLength(2); // the model, and the bill's unattributed lines
    expect((res.body as { totals: unknown }).totals).toMatchObject({ cost_usd: 0.20925, billed_cost_usd: 0.2077 });
  });
});

/**
 * The worker's load (`replaceDay`) run concurrently for one org against the local BigQuery
 * endpoint, which aborts overlapping transactions on one table as BigQuery does: without
 * the org load lock the loads abort each other (different days, same table), each loser
 * failing as retryable; under the lock, as the worker runs them, every one succeeds.
 */
import type { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import { replaceDay } from '../../functions/pipeline-worker/load.js';
import { ensureDatasetDefinition, orgDataset, orgDatasetId } from '../../shared/analytics/index.js';
import { getBigQuery, resetBigQueryConfig } from '../../shared/bigquery/index.js';
import { createPool, type Db } from '../../shared/db/index.js';
import { demoUsageForDay } from '../../shared/demo/index.js';
import { UnavailableError } from '../../shared/errors/index.js';
import { withOrgLoadLock } from '../../shared/pipelines/index.js';
import { catalogueEntries, priceUsage } from '../../shared/pricing/index.js';
import { closeFunctionRuntime, closeTestDb, createTenant, type TestTenant } from '../helpers/tenants.js';

let endpoint: BigQueryEndpoint;
let bq: BigQuery;
/** The worker's pool: one connection. */
let db: Db;

beforeAll(async () => {
  endpoint = await startBigQueryEndpoint({ port: 0 });
  process.env.BIGQUERY_API_ENDPOINT = endpoint.url;
  resetBigQueryConfig();
  bq = await getBigQuery();
  db = await createPool({ connectionString: process.env.DATABASE_URL, max: 1, applicationName: 'load-test' });
});

afterAll(async () => {
  await db?.close();
  await closeFunctionRuntime();
  await closeTestDb();
  await endpoint?.close();
  delete process.env.BIGQUERY_API_ENDPOINT;
  resetBigQueryConfig();
});

const DAYS = ['2026-09-01', '2026-09-02', '2026-09-03', '2026-09-04', '2026-09-05', '2026-09-06'];

/** An org with its dataset, and one day already loaded (so its tables are ensured before the race). */
async function orgWithDataset(): Promise<TestTenant> {
  const tenant = await createTenant({ slugPrefix: 'load', plan: 'pro' });
  await ensureDatasetDefinition(bq, orgDataset(tenant.orgSlug), { location: 'US' });
  await load(tenant, '2026-08-31');
  return tenant;
}

/** The demo pipeline's load of one day, as the worker makes it (priced by the catalogue). */
function load(tenant: TestTenant, date: string): Promise<void> {
  const priced = priceUsage(demoUsageForDay({ orgSlug: tenant.orgSlug, date }), catalogueEntries());
  return replaceDay({ orgSlug: tenant.orgSlug, date, runId: `run-${date}`, source: 'demo_usage_daily', rows: priced.rows, billed: null });
}

/** Rows per day in the org's usage table, and the most copies of one grain on a day. */
async function loadedDays(tenant: TestTenant): Promise<Record<string, { rows: number; copies: number }>> {
  const [rows] = await bq.query(`
    SELECT day, SUM(n) AS row_count, MAX(n) AS copies FROM (
      SELECT CAST(usage_date AS STRING) AS day, COUNT(*) AS n FROM \`${orgDatasetId(tenant.orgSlug)}.llm_usage_daily\`
       WHERE usage_date >= '2026-09-01'
       GROUP BY day, provider, model, service_tier, project_id, api_key_id)
    GROUP BY day ORDER BY day`);
  return Object.fromEntries((rows as { day: string; row_count: number; copies: number }[]).map((r) => [r.day, { rows: r.row_count, copies: r.copies }]));
}

const expectedRows = (tenant: TestTenant, date: string): number => demoUsageForDay({ orgSlug: tenant.orgSlug, date }).length;

describe('concurrent loads of one org', () => {
  it('abort each other without the lock — six days, one table — each loser retryable and its day left unloaded', async () => {
    const tenant = await orgWithDataset();

    const outcomes = await Promise.allSettled(DAYS.map((day) => load(tenant, day)));

    const lost = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ day: DAYS[i] as string, error: o.reason as unknown }] : []));
    console.log(`without the lock: ${DAYS.length - lost.length} of ${DAYS.length} overlapping loads committed, ${lost.length} aborted`);
    expect(lost.length).toBeGreaterThan(0);
    for (const { error } of lost) {
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as UnavailableError).retryable).toBe(true);
      expect(String(((error as UnavailableError).cause as Error).message)).toMatch(/Transaction is aborted due to concurrent update against table local-project:org_\w+\.llm_usage_daily/);
    }
    const days = await loadedDays(tenant);
    for (const day of DAYS) {
      if (lost.some((l) => l.day === day)) expect(days[day]).toBeUndefined();
      else expect(days[day]).toEqual({ rows: expectedRows(tenant, day), copies: 1 });
    }
  });

  it('all succeed under the org load lock, as the worker runs them — each day once', async () => {
    const tenant = await orgWithDataset();
    const signal = new AbortController().signal;

    const outcomes = await Promise.allSettled(DAYS.map((day) => withOrgLoadLock(db, tenant.orgId, { tier: 'batch', signal, maxWaitMs: 60_000 }, () => load(tenant, day))));

    expect(outcomes.map((o) => o.status)).toEqual(DAYS.map(() => 'fulfilled'));
    expect(await loadedDays(tenant)).toEqual(Object.fromEntries(DAYS.map((day) => [day, { rows: expectedRows(tenant, day), copies: 1 }])));
  });
});

/**
 * `dev/seedDemo`: the demo usage the local stack loads — deterministic per org and day,
 * and stored once however often the seed runs — against the local BigQuery endpoint.
 */
import { randomBytes } from 'node:crypto';
import { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LLM_USAGE_DAILY, orgDatasetId } from '../../shared/analytics/index.js';
import { localBigQueryOptions, startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import { demoUsageRows, seedDemoUsage } from '../../dev/seedDemo.js';

const END_DATE = '2024-03-31';
const DAYS = 90;

/** An org slug: the seed writes BigQuery only, so no PostgreSQL org is needed. */
const orgA = { orgSlug: `seed_${randomBytes(4).toString('hex')}` };
let endpoint: BigQueryEndpoint;
let bq: BigQuery;

beforeAll(async () => {
  endpoint = await startBigQueryEndpoint({ port: 0 });
  bq = new BigQuery(localBigQueryOptions(endpoint.url));
  await seedDemoUsage({ orgSlug: orgA.orgSlug, days: DAYS, endDate: END_DATE, bigqueryUrl: endpoint.url });
});

afterAll(async () => {
  await endpoint?.close();
});

describe('seedDemoUsage', () => {
  it('stores each demo row once when it runs again', async () => {
    const again = await seedDemoUsage({ orgSlug: orgA.orgSlug, days: DAYS, endDate: END_DATE, bigqueryUrl: endpoint.url });

    expect(again).toEqual({ rows: demoUsageRows({ orgSlug: orgA.orgSlug, days: DAYS, endDate: END_DATE }).length, inserted: 0 });
    const [rows] = await bq.query({
      // One row per grain: day, provider, model, tier, project and key — all labelled as the demo's.
      query: `SELECT COUNT(*) AS n,
                     COUNT(DISTINCT CONCAT(CAST(usage_date AS STRING), provider, model, service_tier, IFNULL(project_id, '-'), IFNULL(api_key_id, '-'))) AS keys,
                     COUNTIF(source = 'demo_usage_daily') AS demo
                FROM \`${orgDatasetId(orgA.orgSlug)}.${LLM_USAGE_DAILY.tableId}\`
               WHERE usage_date >= DATE '1900-01-01'`,
    });
    const { n, keys, demo } = (rows as { n: number; keys: number; demo: number }[])[0] ?? { n: 0, keys: 0, demo: 0 };
    expect(n).toBe(again.rows);
    expect(keys).toBe(again.rows);
    expect(demo).toBe(again.rows);
  });

  it('generates the same rows for the same org and range, and other rows for another org', () => {
    const a1 = demoUsageRows({ orgSlug: 'demo_one', days: 30, endDate: END_DATE });
    const a2 = demoUsageRows({ orgSlug: 'demo_one', days: 30, endDate: END_DATE });
    const b = demoUsageRows({ orgSlug: 'demo_two', days: 30, endDate: END_DATE });
    // A row depends on its own day only, not on where the range starts.
    const longer = demoUsageRows({ orgSlug: 'demo_one', days: 60, endDate: END_DATE }).filter((r) => r.usage_date >= a1[0]!.usage_date);

    expect(a2).toEqual(a1);
    expect(longer).toEqual(a1);
    expect(b.map((r) => r.cost_usd)).not.toEqual(a1.map((r) => r.cost_usd));
    // Both providers, every tier, every token class, all priced by the catalogue.
    expect(new Set(a1.map((r) => r.provider))).toEqual(new Set(['openai', 'anthropic']));
    expect(new Set(a1.map((r) => r.service_tier))).toEqual(new Set(['standard', 'batch', 'flex', 'priority']));
    for (const column of ['tokens_input_cached', 'tokens_cache_write_5m', 'tokens_cache_write_1h', 'tokens_input_audio', 'tokens_output_audio', 'tokens_input_image'] as const) {
      expect(a1.some((r) => r[column] > 0), column).toBe(true);
    }
    expect(a1.every((r) => r.unpriced_tokens === 0 && r.price_entry !== null)).toBe(true);
  });
});

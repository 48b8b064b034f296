/**
 * `GET /v1/costs` served in-process against the local BigQuery endpoint, over demo usage
 * seeded for two orgs. Expected totals are computed here, in TypeScript, from the same
 * deterministic rows the seed generated — not with the function's SQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmUsageDailyRow } from '../../shared/analytics/index.js';
import { startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import { demoUsageRows, seedDemoUsage } from '../../dev/seedDemo.js';
import type * as CostsModule from '../../functions/costs/index.js';
import { call, closeFunctionRuntime, closeTestDb, createTenant, serveFunction, type ServedFunction, type TestTenant } from '../helpers/tenants.js';

const END_DATE = '2024-03-31';
const DAYS = 90;
const FIRST_DATE = '2024-01-02'; // 90 days ending 2024-03-31 (leap year)

let endpoint: BigQueryEndpoint;
let fn: ServedFunction;
let orgA: TestTenant;
let orgB: TestTenant;
let unprovisioned: TestTenant;
let costsCacheStats: typeof CostsModule.costsCacheStats;

beforeAll(async () => {
  endpoint = await startBigQueryEndpoint({ port: 0 });
  // Set before the function module loads: it reads its configuration at import.
  process.env.FUNCTION_NAME = 'costs';
  process.env.BIGQUERY_API_ENDPOINT = endpoint.url;
  ({ costsCacheStats } = await import('../../functions/costs/index.js'));
  fn = await serveFunction('costs');
  [orgA, orgB, unprovisioned] = await Promise.all([
    createTenant({ slugPrefix: 'costs_a' }),
    createTenant({ slugPrefix: 'costs_b' }),
    createTenant({ slugPrefix: 'costs_none' }),
  ]);
  await Promise.all([orgA, orgB].map((org) => seedDemoUsage({ orgSlug: org.orgSlug, days: DAYS, endDate: END_DATE, bigqueryUrl: endpoint.url })));
});

afterAll(async () => {
  await fn?.close();
  await closeTestDb();
  await closeFunctionRuntime();
  await endpoint?.close();
});

interface Row {
  key: string;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}
interface Costs {
  from: string;
  to: string;
  group_by: string;
  currency: string;
  rows: Row[];
  total_cost_usd: number;
}

/** Demo costs carry 6 decimals, so micro-dollars as integers sum exactly. */
const micros = (decimal: string): number => Math.round(Number(decimal) * 1_000_000);

/** The expected answer, computed from the generated rows with plain TypeScript. */
function expected(org: TestTenant, from: string, to: string, groupBy: 'provider' | 'model' | 'day'): { rows: Row[]; total: number } {
  const keyOf = (r: LlmUsageDailyRow): string => (groupBy === 'day' ? r.usage_date : r[groupBy]);
  const groups = new Map<string, { requests: number; input_tokens: number; output_tokens: number; micros: number }>();
  for (const r of demoUsageRows({ orgSlug: org.orgSlug, days: DAYS, endDate: END_DATE })) {
    if (r.usage_date < from || r.usage_date > to) continue;
    const g = groups.get(keyOf(r)) ?? { requests: 0, input_tokens: 0, output_tokens: 0, micros: 0 };
    g.requests += r.requests;
    g.input_tokens += r.input_tokens;
    g.output_tokens += r.output_tokens;
    g.micros += micros(r.cost_usd);
    groups.set(keyOf(r), g);
  }
  const rows = [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, g]) => ({ key, requests: g.requests, input_tokens: g.input_tokens, output_tokens: g.output_tokens, cost_usd: g.micros / 1_000_000 }));
  const total = [...groups.values()].reduce((sum, g) => sum + g.micros, 0) / 1_000_000;
  return { rows, total };
}

const get = (org: TestTenant, query: string): ReturnType<typeof call> => call(fn.url, org.apiKey, 'GET', `/v1/costs${query}`);

describe('GET /v1/costs', () => {
  it.each([
    { groupBy: 'day', from: FIRST_DATE, to: END_DATE },
    { groupBy: 'provider', from: FIRST_DATE, to: END_DATE },
    { groupBy: 'model', from: FIRST_DATE, to: END_DATE },
    { groupBy: 'day', from: '2024-02-26', to: '2024-03-03' },
    { groupBy: 'provider', from: '2024-02-29', to: '2024-02-29' },
    { groupBy: 'model', from: '2023-06-01', to: '2024-01-15' },
  ] as const)('groups by $groupBy from $from to $to with the totals computed from the seed rows', async ({ groupBy, from, to }) => {
    const want = expected(orgA, from, to, groupBy);

    const res = await get(orgA, `?from=${from}&to=${to}&group_by=${groupBy}`);

    expect(res.status).toBe(200);
    const body = res.body as Costs;
    expect(body).toMatchObject({ from, to, group_by: groupBy, currency: 'USD' });
    expect(body.rows).toEqual(want.rows);
    expect(body.total_cost_usd).toBe(want.total);
    expect(body.rows.length).toBeGreaterThan(0);
  });

  it('groups by day when group_by is left out, one row per day with usage, both ends included', async () => {
    const res = await get(orgA, `?from=${FIRST_DATE}&to=${END_DATE}`);

    const body = res.body as Costs;
    expect(body.group_by).toBe('day');
    expect(body.rows.map((r) => r.key)).toEqual(expected(orgA, FIRST_DATE, END_DATE, 'day').rows.map((r) => r.key));
    expect(body.rows[0]?.key).toBe(FIRST_DATE);
    expect(body.rows.at(-1)?.key).toBe(END_DATE);
  });

  it('answers empty rows and a zero total for a range without usage', async () => {
    const res = await get(orgA, '?from=2020-01-01&to=2020-12-31&group_by=provider');

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ rows: [], total_cost_usd: 0 });
  });

  it('answers empty rows, not an error, for an org whose dataset does not exist yet', async () => {
    const res = await get(unprovisioned, `?from=${FIRST_DATE}&to=${END_DATE}`);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ from: FIRST_DATE, to: END_DATE, group_by: 'day', currency: 'USD', rows: [], total_cost_usd: 0 });
  });

  it("never shows one org another org's costs", async () => {
    const a = (await get(orgA, `?from=${FIRST_DATE}&to=${END_DATE}&group_by=model`)).body as Costs;
    const b = (await get(orgB, `?from=${FIRST_DATE}&to=${END_DATE}&group_by=model`)).body as Costs;

    expect(a.total_cost_usd).toBe(expected(orgA, FIRST_DATE, END_DATE, 'model').total);
    expect(b.total_cost_usd).toBe(expected(orgB, FIRST_DATE, END_DATE, 'model').total);
    expect(a.total_cost_usd).not.toBe(b.total_cost_usd);
    expect(a.rows).not.toEqual(b.rows);
    // The dataset comes from the key alone: there is no parameter to name another org.
    const attempt = await get(orgA, `?from=${FIRST_DATE}&to=${END_DATE}&org_slug=${orgB.orgSlug}`);
    expect(attempt.status).toBe(400);
  });

  it('accepts a range of exactly 366 days, counting both ends', async () => {
    const res = await get(orgA, '?from=2024-01-01&to=2024-12-31&group_by=provider');

    expect(res.status).toBe(200);
    expect((res.body as Costs).total_cost_usd).toBe(expected(orgA, '2024-01-01', '2024-12-31', 'provider').total);
  });

  it.each([
    { name: 'from after to', query: '?from=2024-03-02&to=2024-03-01', field: 'from' },
    { name: 'a day that does not exist', query: '?from=2024-02-30&to=2024-03-01', field: 'from' },
    { name: 'February 29 of a common year', query: '?from=2024-01-01&to=2023-02-29', field: 'to' },
    { name: 'a month without its leading zero', query: '?from=2024-1-01&to=2024-03-01', field: 'from' },
    { name: 'a timestamp instead of a date', query: '?from=2024-01-01T00:00:00Z&to=2024-03-01', field: 'from' },
    { name: 'year 0000', query: '?from=0000-01-01&to=2024-03-01', field: 'from' },
    { name: 'a span of 367 days', query: '?from=2023-01-01&to=2024-01-02', field: 'to' },
    { name: 'no from', query: '?to=2024-03-01', field: 'from' },
    { name: 'no to', query: '?from=2024-03-01', field: 'to' },
    { name: 'from given twice', query: '?from=2024-03-01&from=2024-03-02&to=2024-03-05', field: 'from' },
    { name: 'an unknown group_by', query: '?from=2024-03-01&to=2024-03-05&group_by=week', field: 'group_by' },
    { name: 'an unknown parameter', query: '?from=2024-03-01&to=2024-03-05&limit=5', field: '' },
  ])('answers 400 naming the field for $name', async ({ query, field }) => {
    const res = await get(orgA, query);

    expect(res.status).toBe(400);
    const error = (res.body as { error: { code: string; message: string; details: { path: string; message: string }[] } }).error;
    expect(error.code).toBe('INVALID_ARGUMENT');
    if (field !== '') expect(error.details.map((d) => d.path)).toContain(field);
    expect(error.message).toContain('Invalid query parameters');
  });

  it('answers 401 without a valid key, before looking at the query', async () => {
    const res = await call(fn.url, 'not-a-key', 'GET', '/v1/costs?from=bad');

    expect(res.status).toBe(401);
  });

  it('serves a repeated query from the tenant cache, keyed by the normalized query', async () => {
    const first = await get(orgB, '?from=2024-03-01&to=2024-03-10&group_by=day');
    const hitsBefore = costsCacheStats().hits;

    const second = await get(orgB, '?to=2024-03-10&from=2024-03-01');

    expect(second.body).toEqual(first.body);
    expect(costsCacheStats().hits).toBe(hitsBefore + 1);
  });
});

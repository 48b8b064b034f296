/**
 * `GET /v1/costs` served in-process against the local BigQuery endpoint. Each org's rows
 * are written straight into its `llm_usage_daily` and `llm_billed_cost_daily` tables, and
 * every expected figure below is worked out by hand from those rows (written as literals,
 * not recomputed with the function's own logic), so a wrong sum, a float on the way or a
 * lost NULL shows up as a different number.
 */
import { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localBigQueryOptions, startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import {
  ensureDatasetDefinition,
  LLM_BILLED_COST_DAILY,
  LLM_USAGE_DAILY,
  orgDataset,
  orgDatasetId,
  type DatasetDefinition,
} from '../../shared/analytics/index.js';
import { parseBigQueryConfig } from '../../shared/bigquery/index.js';
import { INPUT_CLASSES, OUTPUT_CLASSES, TOKEN_CLASSES, type TokenCounts } from '../../shared/usage/index.js';
import type * as CostsModule from '../../functions/costs/index.js';
import { call, closeFunctionRuntime, closeTestDb, createTenant, serveFunction, type ServedFunction, type TestTenant } from '../helpers/tenants.js';

let endpoint: BigQueryEndpoint;
let bq: BigQuery;
let fn: ServedFunction;
let orgA: TestTenant;
let orgB: TestTenant;
let orgExact: TestTenant;
let orgOld: TestTenant;
let unprovisioned: TestTenant;
let costsCacheStats: typeof CostsModule.costsCacheStats;

// ---------------------------------------------------------------------------------------
// Seeding: rows as the pipelines write them (per-class columns filled, input_tokens and
// output_tokens their sums), or as rows loaded before the per-class columns existed.
// ---------------------------------------------------------------------------------------

interface UsageSeed {
  date: string;
  provider: string;
  model: string;
  cost: string;
  requests?: number;
  source?: string;
  tier?: string;
  project?: string | null;
  tokens?: Partial<TokenCounts>;
  unpriced?: number;
}

/** A row loaded by a pipeline with per-class pricing. */
function usageRow(orgSlug: string, s: UsageSeed): Record<string, unknown> {
  const tokens = Object.fromEntries(TOKEN_CLASSES.map((c) => [c, s.tokens?.[c] ?? 0])) as TokenCounts;
  const sum = (classes: readonly (keyof TokenCounts)[]): number => classes.reduce((n, c) => n + tokens[c], 0);
  return {
    usage_date: s.date,
    org_slug: orgSlug,
    provider: s.provider,
    model: s.model,
    requests: s.requests ?? 1,
    input_tokens: sum(INPUT_CLASSES),
    output_tokens: sum(OUTPUT_CLASSES),
    cost_usd: s.cost,
    pipeline_run_id: 'run-test',
    loaded_at: `${s.date}T02:00:00Z`,
    source: s.source ?? `${s.provider}_usage_daily`,
    service_tier: s.tier ?? 'standard',
    project_id: s.project ?? null,
    api_key_id: null,
    ...Object.fromEntries(TOKEN_CLASSES.map((c) => [`tokens_${c}`, tokens[c]])),
    unpriced_tokens: s.unpriced ?? 0,
    price_entry: s.unpriced === undefined ? 'catalogue:test' : null,
  };
}

/** A row loaded before per-class pricing: every column added since is NULL. */
function legacyRow(orgSlug: string, s: { date: string; provider: string; model: string; cost: string; requests: number; input: number; output: number }): Record<string, unknown> {
  return {
    usage_date: s.date,
    org_slug: orgSlug,
    provider: s.provider,
    model: s.model,
    requests: s.requests,
    input_tokens: s.input,
    output_tokens: s.output,
    cost_usd: s.cost,
    pipeline_run_id: 'run-legacy',
    loaded_at: `${s.date}T02:00:00Z`,
  };
}

interface BilledSeed {
  date: string;
  provider: string;
  amount: string;
  source?: string;
  project?: string | null;
  model?: string | null;
  tier?: string | null;
  description?: string;
}

function billedRow(orgSlug: string, s: BilledSeed): Record<string, unknown> {
  return {
    usage_date: s.date,
    org_slug: orgSlug,
    provider: s.provider,
    source: s.source ?? `${s.provider}_usage_daily`,
    project_id: s.project ?? null,
    model: s.model ?? null,
    service_tier: s.tier ?? null,
    description: s.description ?? null,
    billed_cost_usd: s.amount,
    pipeline_run_id: 'run-test',
    loaded_at: `${s.date}T02:00:00Z`,
  };
}

async function seed(orgSlug: string, usage: Record<string, unknown>[], billed: Record<string, unknown>[], definition: DatasetDefinition = orgDataset(orgSlug)): Promise<void> {
  const { location } = parseBigQueryConfig({ ...process.env, BIGQUERY_API_ENDPOINT: endpoint.url });
  await ensureDatasetDefinition(bq, definition, { location });
  const dataset = bq.dataset(orgDatasetId(orgSlug));
  if (usage.length > 0) await dataset.table(LLM_USAGE_DAILY.tableId).insert(usage);
  if (billed.length > 0) await dataset.table(LLM_BILLED_COST_DAILY.tableId).insert(billed);
}

// ---------------------------------------------------------------------------------------
// Org A: a legacy day, a day of three real providers' rows plus demo rows, an unpriced
// model, sub-micro-dollar amounts, and the provider's bill (one day of it with no usage).
// ---------------------------------------------------------------------------------------

const FROM = '2024-02-01';
const TO = '2024-03-31';

function orgARows(slug: string): { usage: Record<string, unknown>[]; billed: Record<string, unknown>[] } {
  return {
    usage: [
      // 2024-02-15 — loaded before per-class pricing.
      legacyRow(slug, { date: '2024-02-15', provider: 'openai', model: 'gpt-4-turbo', cost: '0.05', requests: 3, input: 800, output: 200 }),
      // 2024-03-01 — 0.1 + 0.2 + 0.3 of real usage and 1.25 of demo usage.
      usageRow(slug, {
        date: '2024-03-01', provider: 'openai', model: 'gpt-4o-2024-08-06', cost: '0.1', requests: 10, project: 'proj_alpha',
        tokens: { input_uncached: 1000, input_cached: 500, output: 300, input_audio: 20, output_audio: 10, input_image: 5 },
      }),
      usageRow(slug, {
        date: '2024-03-01', provider: 'openai', model: 'gpt-4o-mini-2024-07-18', cost: '0.2', requests: 4, tier: 'batch', project: 'proj_beta',
        tokens: { input_uncached: 2000, input_cached: 1000, output: 100 },
      }),
      usageRow(slug, {
        date: '2024-03-01', provider: 'anthropic', model: 'claude-sonnet-4-20250514', cost: '0.3', requests: 0,
        tokens: { input_uncached: 300, input_cached: 7000, cache_write_5m: 400, cache_write_1h: 200, output: 150 },
      }),
      usageRow(slug, {
        date: '2024-03-01', provider: 'openai', model: 'gpt-4o-2024-08-06', cost: '1.25', requests: 100, source: 'demo_usage_daily',
        tokens: { input_uncached: 5000, output: 1000 },
      }),
      // 2024-03-02 — a model no price covers: cost 0, its tokens counted as unpriced.
      usageRow(slug, {
        date: '2024-03-02', provider: 'openai', model: 'ft:gpt-4o-mini:acme', cost: '0', requests: 2, project: 'proj_alpha',
        tokens: { input_uncached: 1000, output: 234 }, unpriced: 1234,
      }),
      // 2024-03-03 / 04 — amounts below a micro-dollar: 500 + 500 nanos, and 2,500 nanos.
      usageRow(slug, { date: '2024-03-03', provider: 'openai', model: 'gpt-4o-2024-08-06', cost: '0.0000005', project: 'proj_alpha', tokens: { input_uncached: 1 } }),
      usageRow(slug, { date: '2024-03-03', provider: 'anthropic', model: 'claude-sonnet-4-20250514', cost: '0.0000005', requests: 0, tokens: { input_uncached: 1 } }),
      usageRow(slug, { date: '2024-03-04', provider: 'openai', model: 'gpt-4o-2024-08-06', cost: '0.0000025', tier: 'priority', project: 'proj_alpha', tokens: { input_uncached: 2 } }),
      // Outside the range: must not count.
      usageRow(slug, { date: '2024-01-31', provider: 'openai', model: 'gpt-4o-2024-08-06', cost: '100', project: 'proj_alpha', tokens: { input_uncached: 9 } }),
      usageRow(slug, { date: '2024-04-01', provider: 'openai', model: 'gpt-4o-2024-08-06', cost: '100', project: 'proj_alpha', tokens: { input_uncached: 9 } }),
    ],
    billed: [
      billedRow(slug, { date: '2024-03-01', provider: 'openai', project: 'proj_alpha', model: 'gpt-4o-2024-08-06', tier: 'standard', amount: '0.09', description: 'gpt-4o input' }),
      billedRow(slug, { date: '2024-03-01', provider: 'openai', project: 'proj_beta', amount: '0.25', description: 'Batch API' }),
      billedRow(slug, { date: '2024-03-01', provider: 'anthropic', model: 'claude-sonnet-4-20250514', tier: 'standard', amount: '0.333333333' }),
      // A day the bill has and our usage does not.
      billedRow(slug, { date: '2024-03-05', provider: 'openai', project: 'proj_alpha', model: 'gpt-4o-2024-08-06', tier: 'standard', amount: '0.01' }),
      billedRow(slug, { date: '2024-04-01', provider: 'openai', project: 'proj_alpha', amount: '100' }),
    ],
  };
}

beforeAll(async () => {
  endpoint = await startBigQueryEndpoint({ port: 0 });
  bq = new BigQuery(localBigQueryOptions(endpoint.url));
  // Set before the function module loads: it reads its configuration at import.
  process.env.FUNCTION_NAME = 'costs';
  process.env.BIGQUERY_API_ENDPOINT = endpoint.url;
  ({ costsCacheStats } = await import('../../functions/costs/index.js'));
  fn = await serveFunction('costs');
  [orgA, orgB, orgExact, orgOld, unprovisioned] = await Promise.all([
    createTenant({ slugPrefix: 'costs_a' }),
    createTenant({ slugPrefix: 'costs_b' }),
    createTenant({ slugPrefix: 'costs_exact' }),
    createTenant({ slugPrefix: 'costs_old' }),
    createTenant({ slugPrefix: 'costs_none' }),
  ]);
  const a = orgARows(orgA.orgSlug);
  await Promise.all([
    seed(orgA.orgSlug, a.usage, a.billed),
    // Org B: same day, same provider, other numbers.
    seed(
      orgB.orgSlug,
      [usageRow(orgB.orgSlug, { date: '2024-03-01', provider: 'openai', model: 'gpt-4o-2024-08-06', cost: '7.000000001', requests: 70, project: 'proj_alpha', tokens: { input_uncached: 70 } })],
      [billedRow(orgB.orgSlug, { date: '2024-03-01', provider: 'openai', project: 'proj_alpha', amount: '6.5' })],
    ),
    // Three rows whose float sum is 0.6000000000000001.
    seed(
      orgExact.orgSlug,
      ['0.1', '0.2', '0.3'].map((cost, i) => usageRow(orgExact.orgSlug, { date: '2024-03-01', provider: 'openai', model: `model-${i}`, cost, tokens: { input_uncached: 1 } })),
      ['0.1', '0.2', '0.3'].map((amount, i) => billedRow(orgExact.orgSlug, { date: '2024-03-01', provider: 'openai', model: `model-${i}`, amount })),
    ),
    // An org whose dataset predates the billed table (its next pipeline run creates it).
    seed(
      orgOld.orgSlug,
      [legacyRow(orgOld.orgSlug, { date: '2024-03-01', provider: 'anthropic', model: 'claude-3-haiku', cost: '0.42', requests: 5, input: 100, output: 50 })],
      [],
      { ...orgDataset(orgOld.orgSlug), tables: [LLM_USAGE_DAILY] },
    ),
  ]);
});

afterAll(async () => {
  await fn?.close();
  await closeTestDb();
  await closeFunctionRuntime();
  await endpoint?.close();
});

interface Row {
  key: string;
  cost_usd: number;
  billed_cost_usd: number | null;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  tokens: TokenCounts;
  unpriced_tokens: number;
}
interface Costs {
  from: string;
  to: string;
  group_by: string;
  currency: string;
  rows: Row[];
  total_cost_usd: number;
  totals: { cost_usd: number; llm_cost_usd: number; saas_cost_usd: number; demo_cost_usd: number; billed_cost_usd: number | null; unpriced_tokens: number };
}

const get = (org: TestTenant, query: string): ReturnType<typeof call> => call(fn.url, org.apiKey, 'GET', `/v1/costs${query}`);

async function costs(org: TestTenant, query: string): Promise<Costs> {
  const res = await get(org, query);
  expect(res.status, res.text).toBe(200);
  return res.body as Costs;
}

const zeroTokens: TokenCounts = { input_uncached: 0, input_cached: 0, cache_write_5m: 0, cache_write_1h: 0, output: 0, input_audio: 0, output_audio: 0, input_image: 0 };

/** Org A over FROM…TO, whatever the grouping: 0.05 + 0.1 + 0.2 + 0.3 + 1.25 + 0 + 0.0000005 × 2 + 0.0000025 = 1.9000035 → 1.900004 (half-even). */
const ORG_A_TOTALS = {
  cost_usd: 1.900004,
  llm_cost_usd: 1.900004,
  saas_cost_usd: 0,
  demo_cost_usd: 1.25,
  // 0.09 + 0.25 + 0.333333333 + 0.01 = 0.683333333
  billed_cost_usd: 0.683333,
  unpriced_tokens: 1234,
};

describe('GET /v1/costs', () => {
  it.each([
    {
      groupBy: 'day',
      rows: [
        ['2024-02-15', 0.05, null],
        ['2024-03-01', 1.85, 0.673333],
        ['2024-03-02', 0, null],
        ['2024-03-03', 0.000001, null], // 500 + 500 nanos: each would round to 0 alone
        ['2024-03-04', 0.000002, null], // 2,500 nanos: half-even to 2 micro-dollars, not 3
        ['2024-03-05', 0, 0.01], // billed, no usage
      ],
    },
    { groupBy: 'category', rows: [['llm', 1.900004, 0.683333]] },
    {
      groupBy: 'provider',
      rows: [
        ['anthropic', 0.3, 0.333333], // 0.3000005 → 0.3 (half-even)
        ['openai', 1.600003, 0.35],
      ],
    },
    {
      groupBy: 'vendor',
      rows: [
        ['anthropic', 0.3, 0.333333],
        ['openai', 1.600003, 0.35],
      ],
    },
    {
      groupBy: 'model',
      rows: [
        ['(not attributed)', 0, 0.25],
        ['claude-sonnet-4-20250514', 0.3, 0.333333],
        ['ft:gpt-4o-mini:acme', 0, null],
        ['gpt-4-turbo', 0.05, null],
        ['gpt-4o-2024-08-06', 1.350003, 0.1],
        ['gpt-4o-mini-2024-07-18', 0.2, null],
      ],
    },
    {
      groupBy: 'service_tier',
      rows: [
        ['(not attributed)', 0, 0.25],
        ['batch', 0.2, null],
        ['priority', 0.000002, null],
        ['standard', 1.700001, 0.433333], // the legacy row's NULL tier counts as standard
      ],
    },
    {
      groupBy: 'project',
      rows: [
        ['(none)', 1.6, null], // 1.6000005 → 1.6; the bill names no project for these
        ['(not attributed)', 0, 0.333333],
        ['proj_alpha', 0.100003, 0.1],
        ['proj_beta', 0.2, 0.25],
      ],
    },
    {
      groupBy: 'source',
      rows: [
        ['anthropic_usage_daily', 0.3, 0.333333],
        ['demo_usage_daily', 1.25, null],
        ['openai_usage_daily', 0.350003, 0.35], // includes the legacy row (NULL source)
      ],
    },
  ] as const)('groups by $groupBy: our cost and the provider bill per key, exact totals', async ({ groupBy, rows }) => {
    const body = await costs(orgA, `?from=${FROM}&to=${TO}&group_by=${groupBy}`);

    expect(body).toMatchObject({ from: FROM, to: TO, group_by: groupBy, currency: 'USD' });
    expect(body.rows.map((r) => [r.key, r.cost_usd, r.billed_cost_usd])).toEqual(rows);
    expect(body.totals).toEqual(ORG_A_TOTALS);
    expect(body.total_cost_usd).toBe(ORG_A_TOTALS.cost_usd);
    // Every grouping splits the same usage: requests and tokens add up to the same totals.
    const sum = (pick: (r: Row) => number): number => body.rows.reduce((n, r) => n + pick(r), 0);
    expect(sum((r) => r.requests)).toBe(3 + 10 + 4 + 0 + 100 + 2 + 1 + 0 + 1);
    expect(sum((r) => r.input_tokens)).toBe(800 + 1525 + 3000 + 7900 + 5000 + 1000 + 1 + 1 + 2);
    expect(sum((r) => r.output_tokens)).toBe(200 + 310 + 100 + 150 + 1000 + 234);
    expect(sum((r) => r.unpriced_tokens)).toBe(1234);
  });

  it('shows every token class apart, input_tokens as the sum of the input classes and output_tokens as output + output_audio', async () => {
    const body = await costs(orgA, '?from=2024-03-01&to=2024-03-01');

    expect(body.rows).toEqual([
      {
        key: '2024-03-01',
        cost_usd: 1.85,
        billed_cost_usd: 0.673333,
        requests: 114,
        input_tokens: 8300 + 8500 + 400 + 200 + 20 + 5,
        output_tokens: 1550 + 10,
        tokens: { input_uncached: 8300, input_cached: 8500, cache_write_5m: 400, cache_write_1h: 200, output: 1550, input_audio: 20, output_audio: 10, input_image: 5 },
        unpriced_tokens: 0,
      },
    ]);
  });

  it('counts a row loaded before the per-class columns as uncached input and text output, standard tier, no project, its provider pipeline', async () => {
    const day = await costs(orgA, '?from=2024-02-15&to=2024-02-15');
    const bySource = await costs(orgA, '?from=2024-02-15&to=2024-02-15&group_by=source');
    const byTier = await costs(orgA, '?from=2024-02-15&to=2024-02-15&group_by=service_tier');
    const byProject = await costs(orgA, '?from=2024-02-15&to=2024-02-15&group_by=project');

    expect(day.rows).toEqual([
      {
        key: '2024-02-15',
        cost_usd: 0.05,
        billed_cost_usd: null,
        requests: 3,
        input_tokens: 800,
        output_tokens: 200,
        tokens: { ...zeroTokens, input_uncached: 800, output: 200 },
        unpriced_tokens: 0,
      },
    ]);
    expect(bySource.rows.map((r) => r.key)).toEqual(['openai_usage_daily']);
    expect(byTier.rows.map((r) => r.key)).toEqual(['standard']);
    expect(byProject.rows.map((r) => r.key)).toEqual(['(none)']);
    expect(day.totals.billed_cost_usd).toBeNull();
  });

  it('shows a key only the bill has, with zero usage beside the billed figure', async () => {
    const body = await costs(orgA, '?from=2024-03-05&to=2024-03-05&group_by=model');

    expect(body.rows).toEqual([
      { key: 'gpt-4o-2024-08-06', cost_usd: 0, billed_cost_usd: 0.01, requests: 0, input_tokens: 0, output_tokens: 0, tokens: zeroTokens, unpriced_tokens: 0 },
    ]);
    expect(body.totals).toEqual({ cost_usd: 0, llm_cost_usd: 0, saas_cost_usd: 0, demo_cost_usd: 0, billed_cost_usd: 0.01, unpriced_tokens: 0 });
  });

  it('sums 0.1 + 0.2 + 0.3 to exactly 0.6, in rows and totals, for our cost and the bill', async () => {
    expect(0.1 + 0.2 + 0.3).not.toBe(0.6); // what a float sum would have shown

    const byDay = await costs(orgExact, '?from=2024-03-01&to=2024-03-01');
    const byModel = await costs(orgExact, '?from=2024-03-01&to=2024-03-01&group_by=model');

    expect(byDay.rows.map((r) => [r.key, r.cost_usd, r.billed_cost_usd])).toEqual([['2024-03-01', 0.6, 0.6]]);
    expect(byDay.totals).toMatchObject({ cost_usd: 0.6, llm_cost_usd: 0.6, billed_cost_usd: 0.6, demo_cost_usd: 0 });
    expect(byDay.total_cost_usd).toBe(0.6);
    expect(byModel.rows.map((r) => [r.key, r.cost_usd, r.billed_cost_usd])).toEqual([
      ['model-0', 0.1, 0.1],
      ['model-1', 0.2, 0.2],
      ['model-2', 0.3, 0.3],
    ]);
    expect(byModel.totals.cost_usd).toBe(0.6);
  });

  it('rounds the exact sum once: rows of 500 nano-dollars each show 0, their total 0.000001', async () => {
    const body = await costs(orgA, '?from=2024-03-03&to=2024-03-03&group_by=provider');

    expect(body.rows.map((r) => [r.key, r.cost_usd])).toEqual([
      ['anthropic', 0],
      ['openai', 0],
    ]);
    expect(body.totals.cost_usd).toBe(0.000001);
    expect(body.total_cost_usd).toBe(0.000001);
  });

  it('labels demo spend in the totals when demo and real rows share a day, and keeps it apart by source', async () => {
    const day = await costs(orgA, '?from=2024-03-01&to=2024-03-01');
    const bySource = await costs(orgA, '?from=2024-03-01&to=2024-03-01&group_by=source');

    expect(day.rows.map((r) => r.key)).toEqual(['2024-03-01']);
    expect(day.totals).toEqual({ cost_usd: 1.85, llm_cost_usd: 1.85, saas_cost_usd: 0, demo_cost_usd: 1.25, billed_cost_usd: 0.673333, unpriced_tokens: 0 });
    expect(bySource.rows.map((r) => [r.key, r.cost_usd, r.billed_cost_usd])).toEqual([
      ['anthropic_usage_daily', 0.3, 0.333333],
      ['demo_usage_daily', 1.25, null],
      ['openai_usage_daily', 0.3, 0.34],
    ]);
  });

  it('answers the same LLM spend for category=all and category=llm, and nothing yet for category=saas', async () => {
    const all = await costs(orgA, `?from=${FROM}&to=${TO}&group_by=provider&category=all`);
    const llm = await costs(orgA, `?from=${FROM}&to=${TO}&group_by=provider&category=llm`);
    const saas = await costs(orgA, `?from=${FROM}&to=${TO}&group_by=provider&category=saas`);

    expect(llm.rows).toEqual(all.rows);
    expect(llm.totals).toEqual(all.totals);
    expect(all.totals).toEqual(ORG_A_TOTALS);
    expect(saas).toEqual({
      from: FROM,
      to: TO,
      group_by: 'provider',
      currency: 'USD',
      rows: [],
      total_cost_usd: 0,
      totals: { cost_usd: 0, llm_cost_usd: 0, saas_cost_usd: 0, demo_cost_usd: 0, billed_cost_usd: null, unpriced_tokens: 0 },
    });
  });

  it('groups by day when group_by is left out, one row per day with usage or a bill, both ends included', async () => {
    const body = await costs(orgA, '?from=2024-03-01&to=2024-03-05');

    expect(body.group_by).toBe('day');
    expect(body.rows.map((r) => r.key)).toEqual(['2024-03-01', '2024-03-02', '2024-03-03', '2024-03-04', '2024-03-05']);
  });

  it('answers empty rows, zero totals and no billed figure for a range without usage or bill', async () => {
    const body = await costs(orgA, '?from=2020-01-01&to=2020-12-31&group_by=provider');

    expect(body.rows).toEqual([]);
    expect(body.total_cost_usd).toBe(0);
    expect(body.totals).toEqual({ cost_usd: 0, llm_cost_usd: 0, saas_cost_usd: 0, demo_cost_usd: 0, billed_cost_usd: null, unpriced_tokens: 0 });
  });

  it('answers empty rows, not an error, for an org whose dataset does not exist yet', async () => {
    const res = await get(unprovisioned, `?from=${FROM}&to=${TO}`);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      from: FROM,
      to: TO,
      group_by: 'day',
      currency: 'USD',
      rows: [],
      total_cost_usd: 0,
      totals: { cost_usd: 0, llm_cost_usd: 0, saas_cost_usd: 0, demo_cost_usd: 0, billed_cost_usd: null, unpriced_tokens: 0 },
    });
  });

  it('still shows the usage of an org whose dataset has no billed table yet, with no billed figure', async () => {
    const body = await costs(orgOld, '?from=2024-03-01&to=2024-03-31&group_by=model');

    expect(body.rows).toEqual([
      {
        key: 'claude-3-haiku',
        cost_usd: 0.42,
        billed_cost_usd: null,
        requests: 5,
        input_tokens: 100,
        output_tokens: 50,
        tokens: { ...zeroTokens, input_uncached: 100, output: 50 },
        unpriced_tokens: 0,
      },
    ]);
    expect(body.totals).toMatchObject({ cost_usd: 0.42, billed_cost_usd: null });
  });

  it("never shows one org another org's costs or bill", async () => {
    const a = await costs(orgA, '?from=2024-03-01&to=2024-03-01&group_by=project');
    const b = await costs(orgB, '?from=2024-03-01&to=2024-03-01&group_by=project');

    expect(a.totals).toMatchObject({ cost_usd: 1.85, billed_cost_usd: 0.673333 });
    expect(b.rows.map((r) => [r.key, r.cost_usd, r.billed_cost_usd, r.requests])).toEqual([['proj_alpha', 7, 6.5, 70]]);
    expect(b.totals).toMatchObject({ cost_usd: 7, demo_cost_usd: 0, billed_cost_usd: 6.5 });
    // The dataset comes from the key alone: there is no parameter to name another org.
    const attempt = await get(orgA, `?from=${FROM}&to=${TO}&org_slug=${orgB.orgSlug}`);
    expect(attempt.status).toBe(400);
  });

  it('accepts a range of exactly 366 days, counting both ends', async () => {
    const body = await costs(orgA, '?from=2024-01-01&to=2024-12-31&group_by=category');

    // 2024-01-31 and 2024-04-01 are in range now: 100 each, and 100 more billed.
    expect(body.rows.map((r) => [r.key, r.cost_usd, r.billed_cost_usd])).toEqual([['llm', 201.900004, 100.683333]]);
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
    { name: 'an unknown category', query: '?from=2024-03-01&to=2024-03-05&category=cloud', field: 'category' },
    { name: 'group_by given twice', query: '?from=2024-03-01&to=2024-03-05&group_by=day&group_by=model', field: 'group_by' },
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
    const first = await get(orgB, '?from=2024-03-01&to=2024-03-10&group_by=day&category=all');
    const hitsBefore = costsCacheStats().hits;

    const second = await get(orgB, '?to=2024-03-10&from=2024-03-01');
    const otherCategory = await get(orgB, '?to=2024-03-10&from=2024-03-01&category=saas');

    expect(second.body).toEqual(first.body);
    expect(costsCacheStats().hits).toBe(hitsBefore + 1);
    expect((otherCategory.body as Costs).rows).toEqual([]);
  });
});

/**
 * `GET /v1/costs/export` served in-process against the local BigQuery endpoint and the test
 * PostgreSQL: usage and billed rows written straight into the org's tables (as the
 * pipelines write them), subscriptions and an org price entry into PostgreSQL. Per-class
 * figures are worked out by hand from the catalogue's and the org's prices.
 */
import { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localBigQueryOptions, startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import { FOCUS_COLUMNS } from '../../functions/costs/focus.js';
import { ensureDatasetDefinition, LLM_BILLED_COST_DAILY, LLM_USAGE_DAILY, orgDataset, orgDatasetId } from '../../shared/analytics/index.js';
import { parseBigQueryConfig } from '../../shared/bigquery/index.js';
import { formatUsd, parseUsd, usdForApi } from '../../shared/money/index.js';
import { INPUT_CLASSES, OUTPUT_CLASSES, TOKEN_CLASSES, type TokenCounts } from '../../shared/usage/index.js';
import { call, closeFunctionRuntime, closeTestDb, createTenant, serveFunction, testDb, type ServedFunction, type TestTenant } from '../helpers/tenants.js';

let endpoint: BigQueryEndpoint;
let bq: BigQuery;
let fn: ServedFunction;
let orgA: TestTenant;
let orgB: TestTenant;

const FROM = '2024-03-01';
const TO = '2024-03-10';
const PLAN = 'pro, "max"';

function usageRow(orgSlug: string, s: { date: string; model: string; cost: string; tokens: Partial<TokenCounts>; tier?: string; project?: string | null; unpriced?: number; provider?: string }): Record<string, unknown> {
  const tokens = Object.fromEntries(TOKEN_CLASSES.map((c) => [c, s.tokens[c] ?? 0])) as TokenCounts;
  const sum = (classes: readonly (keyof TokenCounts)[]): number => classes.reduce((n, c) => n + tokens[c], 0);
  const provider = s.provider ?? 'openai';
  return {
    usage_date: s.date,
    org_slug: orgSlug,
    provider,
    model: s.model,
    requests: 1,
    input_tokens: sum(INPUT_CLASSES),
    output_tokens: sum(OUTPUT_CLASSES),
    cost_usd: s.cost,
    pipeline_run_id: 'run-test',
    loaded_at: `${s.date}T02:00:00Z`,
    source: `${provider}_usage_daily`,
    service_tier: s.tier ?? 'standard',
    project_id: s.project === undefined ? 'proj_1' : s.project,
    api_key_id: null,
    ...Object.fromEntries(TOKEN_CLASSES.map((c) => [`tokens_${c}`, tokens[c]])),
    unpriced_tokens: s.unpriced ?? 0,
    price_entry: null,
  };
}

async function seed(orgSlug: string, usage: Record<string, unknown>[], billed: Record<string, unknown>[]): Promise<void> {
  const { location } = parseBigQueryConfig({ ...process.env, BIGQUERY_API_ENDPOINT: endpoint.url });
  await ensureDatasetDefinition(bq, orgDataset(orgSlug), { location });
  const dataset = bq.dataset(orgDatasetId(orgSlug));
  if (usage.length > 0) await dataset.table(LLM_USAGE_DAILY.tableId).insert(usage);
  if (billed.length > 0) await dataset.table(LLM_BILLED_COST_DAILY.tableId).insert(billed);
}

beforeAll(async () => {
  endpoint = await startBigQueryEndpoint({ port: 0 });
  process.env.FUNCTION_NAME = 'costs';
  process.env.BIGQUERY_API_ENDPOINT = endpoint.url;
  process.env.COSTS_CACHE_TTL_MS = '0';
  // One row a page: the export pages through BigQuery, and the two rows of one key (merged) straddle a page boundary.
  process.env.COSTS_EXPORT_PAGE_SIZE = '1';
  bq = new BigQuery(localBigQueryOptions(endpoint.url));
  await import('../../functions/costs/index.js');
  fn = await serveFunction('costs');
  [orgA, orgB] = await Promise.all([createTenant({ slugPrefix: 'export_a' }), createTenant({ slugPrefix: 'export_b' })]);

  // The org's own price for `tiny-model`: 0.0015 USD per 1M tokens in and out, so one token
  // costs 1.5 nano-dollars — the per-class rounding leaves a residue to place.
  await testDb().query(`INSERT INTO llm_prices (org_id, provider, model, match, service_tier, input, output) VALUES ($1, 'openai', 'tiny-model', 'exact', 'standard', 0.0015, 0.0015)`, [
    orgA.orgId,
  ]);
  await seed(
    orgA.orgSlug,
    [
      // gpt-4o at catalogue prices (2.50 in, 1.25 cached, 10.00 out per 1M): 0.0025 + 0.0025 + 0.005.
      usageRow(orgA.orgSlug, { date: '2024-03-05', model: 'gpt-4o-2024-08-06', cost: '0.01', tokens: { input_uncached: 1000, input_cached: 2000, output: 500 } }),
      // The same key from another API key: merges into the rows above (1 in: 0.0000025; 3 out: 0.00003).
      usageRow(orgA.orgSlug, { date: '2024-03-05', model: 'gpt-4o-2024-08-06', cost: '0.0000325', tokens: { input_uncached: 1, output: 3 } }),
      // 1 token in and 1 out at 1.5 nano-dollars each: stored as round(3.0) = 3 nano-dollars.
      usageRow(orgA.orgSlug, { date: '2024-03-06', model: 'tiny-model', cost: '0.000000003', tokens: { input_uncached: 1, output: 1 } }),
      // Priced with a price no longer in force (0.05 is not the catalogue's 0.0025 + 0.01): one `all` charge.
      usageRow(orgA.orgSlug, { date: '2024-03-07', model: 'gpt-4o', cost: '0.05', tokens: { input_uncached: 1000, output: 1000 }, project: null }),
      // Nothing prices it: unpriced, cost 0.
      usageRow(orgA.orgSlug, { date: '2024-03-08', model: 'mystery', cost: '0', tokens: { input_uncached: 100 }, unpriced: 100 }),
    ],
    [
      {
        usage_date: '2024-03-05',
        org_slug: orgA.orgSlug,
        provider: 'openai',
        source: 'openai_usage_daily',
        project_id: 'proj_1',
        model: null,
        service_tier: null,
        description: 'Chat, "completions"',
        billed_cost_usd: '0.0123',
        pipeline_run_id: 'run-test',
        loaded_at: '2024-03-05T02:00:00Z',
      },
    ],
  );
  // 3 seats × 10.00 a month over March's 31 days: 30 / 31 = 0.967741935 a day.
  await testDb().query(
    `INSERT INTO subscriptions (org_id, vendor, plan_name, seats, unit_price_usd, billing_cycle, start_date, end_date, status)
     VALUES ($1, 'acme', $2, 3, 10, 'monthly', '2024-03-01', NULL, 'active')`,
    [orgA.orgId, PLAN],
  );
  await seed(orgB.orgSlug, [usageRow(orgB.orgSlug, { date: '2024-03-05', model: 'gpt-4o-mini', cost: '1', tokens: { input_uncached: 7 } })], []);
  await testDb().query(
    `INSERT INTO subscriptions (org_id, vendor, plan_name, seats, unit_price_usd, billing_cycle, start_date, end_date, status)
     VALUES ($1, 'other-vendor', 'team', 1, 5, 'monthly', '2024-01-01', NULL, 'active')`,
    [orgB.orgId],
  );
}, 60_000);

afterAll(async () => {
  await fn?.close();
  await closeTestDb();
  await closeFunctionRuntime();
  await endpoint?.close();
});

/** RFC 4180 records: quoted fields may hold commas, doubled quotes, CR and LF. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 1;
    } else field += ch;
  }
  expect(field).toBe('');
  return records;
}

type Row = Record<string, string | null>;

async function exportCsv(org: TestTenant, from = FROM, to = TO): Promise<{ header: string[]; rows: Row[]; res: Awaited<ReturnType<typeof call>> }> {
  const res = await call(fn.url, org.apiKey, 'GET', `/v1/costs/export?from=${from}&to=${to}&format=csv`);
  expect(res.status, res.text).toBe(200);
  const [header, ...records] = parseCsv(res.text);
  const rows = records.map((r) => {
    expect(r).toHaveLength((header as string[]).length);
    return Object.fromEntries((header as string[]).map((h, i) => [h, r[i] === '' ? null : (r[i] as string)]));
  });
  return { header: header as string[], rows, res };
}

async function exportJsonl(org: TestTenant): Promise<Record<string, unknown>[]> {
  const res = await call(fn.url, org.apiKey, 'GET', `/v1/costs/export?from=${FROM}&to=${TO}&format=jsonl`);
  expect(res.status, res.text).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/x-ndjson');
  expect(res.text.endsWith('\n')).toBe(true);
  return res.text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const DECIMAL = /^-?\d+(\.\d+)?$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T00:00:00Z$/;
const MANDATORY_NOT_NULL = [
  'BilledCost',
  'EffectiveCost',
  'ListCost',
  'ContractedCost',
  'BillingAccountId',
  'BillingCurrency',
  'BillingPeriodStart',
  'BillingPeriodEnd',
  'ChargePeriodStart',
  'ChargePeriodEnd',
  'ChargeCategory',
  'ChargeDescription',
  'ServiceName',
  'ServiceCategory',
  'ProviderName',
  'PublisherName',
  'InvoiceIssuerName',
];
const SERVICE_CATEGORIES = ['AI and Machine Learning', 'Business Applications'];

describe('GET /v1/costs/export', () => {
  it('writes a CSV with a header of every FOCUS column, named as a download, CRLF-terminated', async () => {
    const { header, res } = await exportCsv(orgA);

    expect(header).toEqual([...FOCUS_COLUMNS]);
    for (const column of ['BilledCost', 'EffectiveCost', 'ListCost', 'ContractedCost', 'BillingAccountId', 'BillingAccountName', 'BillingCurrency', 'BillingPeriodStart', 'BillingPeriodEnd', 'ChargePeriodStart', 'ChargePeriodEnd', 'ChargeCategory', 'ChargeClass', 'ChargeDescription', 'PricingQuantity', 'PricingUnit', 'ProviderName', 'PublisherName', 'InvoiceIssuerName', 'ServiceName', 'ServiceCategory', 'ConsumedQuantity', 'ConsumedUnit', 'SubAccountId', 'SubAccountName', 'x_Model', 'x_TokenClass', 'x_ServiceTier', 'x_Source']) {
      expect(header).toContain(column);
    }
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="cloudact-focus-${orgA.orgSlug}-${FROM}-${TO}.csv"`);
    expect(res.text.endsWith('\r\n')).toBe(true);
    expect(res.text.replaceAll('\r\n', '')).not.toMatch(/\n/);
  });

  it('fills every mandatory column of every row with a value of its type and an allowed value', async () => {
    const { rows } = await exportCsv(orgA);

    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      for (const c of MANDATORY_NOT_NULL) expect(row[c], `${c} of ${JSON.stringify(row)}`).not.toBeNull();
      for (const c of ['BilledCost', 'EffectiveCost', 'ListCost', 'ContractedCost']) expect(row[c]).toMatch(DECIMAL);
      for (const c of ['PricingQuantity', 'ConsumedQuantity']) if (row[c] !== null) expect(row[c]).toMatch(DECIMAL);
      for (const c of ['BillingPeriodStart', 'BillingPeriodEnd', 'ChargePeriodStart', 'ChargePeriodEnd']) expect(row[c]).toMatch(INSTANT);
      expect(['Usage', 'Purchase', 'Tax', 'Credit', 'Adjustment']).toContain(row.ChargeCategory);
      expect(row.ChargeClass).toBeNull();
      expect(SERVICE_CATEGORIES).toContain(row.ServiceCategory);
      expect(row.BillingCurrency).toBe('USD');
      expect(row.BillingAccountId).toBe(orgA.orgSlug);
      // The billing period is the charge's calendar month; the charge period its day.
      expect(row.BillingPeriodStart).toBe('2024-03-01T00:00:00Z');
      expect(row.BillingPeriodEnd).toBe('2024-04-01T00:00:00Z');
      expect(Date.parse(row.ChargePeriodEnd as string) - Date.parse(row.ChargePeriodStart as string)).toBe(86_400_000);
      // Usage and Purchase rows carry a pricing quantity (FOCUS: not null unless a correction).
      if (row.ChargeCategory === 'Usage') {
        expect(row.PricingQuantity).not.toBeNull();
        expect(row.ConsumedQuantity).not.toBeNull();
      }
    }
  });

  it('splits a usage row into its token classes exactly, merging rows of one key, down to the nano-dollar', async () => {
    const { rows } = await exportCsv(orgA);
    const of = (day: string, model: string): (string | null | undefined)[][] =>
      rows
        .filter((r) => r.ChargePeriodStart === `${day}T00:00:00Z` && r.x_Model === model && r.ChargeCategory === 'Usage')
        .map((r) => [r.x_TokenClass, r.ConsumedQuantity, r.PricingQuantity, r.EffectiveCost]);

    expect(of('2024-03-05', 'gpt-4o-2024-08-06')).toEqual([
      ['input_uncached', '1001', '0.001001', '0.002502500'],
      ['input_cached', '2000', '0.002000', '0.002500000'],
      ['output', '503', '0.000503', '0.005030000'],
    ]);
    // 1.5 + 1.5 nano-dollars: 2 + 2 after rounding each, one too many, taken back from the first largest class.
    expect(of('2024-03-06', 'tiny-model')).toEqual([
      ['input_uncached', '1', '0.000001', '0.000000001'],
      ['output', '1', '0.000001', '0.000000002'],
    ]);
    // A cost today's prices do not reproduce stays whole, never split by a guess.
    expect(of('2024-03-07', 'gpt-4o')).toEqual([['all', '2000', '0.002000', '0.050000000']]);
    expect(of('2024-03-08', 'mystery')).toEqual([['all', '100', '0.000100', '0.000000000']]);
    const gpt = rows.find((r) => r.x_Model === 'gpt-4o-2024-08-06') as Row;
    expect([gpt.ProviderName, gpt.ServiceName, gpt.ServiceCategory, gpt.ConsumedUnit, gpt.PricingUnit, gpt.SubAccountId, gpt.x_ServiceTier, gpt.x_Source, gpt.BilledCost]).toEqual([
      'OpenAI',
      'OpenAI API',
      'AI and Machine Learning',
      'Tokens',
      '1M Tokens',
      'proj_1',
      'standard',
      'openai_usage_daily',
      '0.000000000',
    ]);
  });

  it('quotes a plan name holding a comma and a double quote, and accrues SaaS per day as Business Applications', async () => {
    const res = await call(fn.url, orgA.apiKey, 'GET', `/v1/costs/export?from=${FROM}&to=${TO}`);

    expect(res.text).toContain(`,"${PLAN.replaceAll('"', '""')}",`);
    const { rows } = await exportCsv(orgA);
    const saas = rows.filter((r) => r.x_Source === 'saas');
    expect(saas).toHaveLength(10);
    expect(saas[0]).toMatchObject({
      x_Model: PLAN,
      ProviderName: 'acme',
      ServiceCategory: 'Business Applications',
      ChargeCategory: 'Usage',
      EffectiveCost: '0.967741935',
      BilledCost: '0.000000000',
      ConsumedQuantity: '3',
      ConsumedUnit: 'Seats',
      ChargePeriodStart: '2024-03-01T00:00:00Z',
      ChargePeriodEnd: '2024-03-02T00:00:00Z',
    });
  });

  it('shows the provider\'s bill as its own lines: billed cost, no effective cost', async () => {
    const { rows } = await exportCsv(orgA);

    const billed = rows.filter((r) => r.BilledCost !== '0.000000000');
    expect(billed.map((r) => [r.ChargeCategory, r.BilledCost, r.EffectiveCost, r.ChargeDescription, r.SubAccountId])).toEqual([
      ['Adjustment', '0.012300000', '0.000000000', 'Cost reported by OpenAI: Chat, "completions"', 'proj_1'],
    ]);
  });

  it('adds up to /v1/costs: Σ EffectiveCost = totals.cost_usd, Σ BilledCost = totals.billed_cost_usd, Σ SaaS = totals.saas_cost_usd', async () => {
    const [{ rows }, costs] = await Promise.all([exportCsv(orgA), call(fn.url, orgA.apiKey, 'GET', `/v1/costs?from=${FROM}&to=${TO}&group_by=day`)]);
    expect(costs.status).toBe(200);
    const totals = (costs.body as { totals: Record<string, number | null> }).totals;
    const sum = (rs: Row[], c: string): number => usdForApi(rs.reduce((n, r) => n + parseUsd(r[c] as string), 0n));

    expect(sum(rows, 'EffectiveCost')).toBe(totals.cost_usd);
    expect(sum(rows, 'BilledCost')).toBe(totals.billed_cost_usd);
    expect(sum(rows.filter((r) => r.x_Source === 'saas'), 'EffectiveCost')).toBe(totals.saas_cost_usd);
    expect(sum(rows.filter((r) => r.x_Source !== 'saas'), 'EffectiveCost')).toBe(totals.llm_cost_usd);
    // And exactly, in nano-dollars: 0.01 + 0.0000325 + 0.000000003 + 0.05 + 10 × 0.967741935.
    expect(formatUsd(rows.reduce((n, r) => n + parseUsd(r.EffectiveCost as string), 0n))).toBe('9.737451853');
  });

  it('writes the same rows as JSON Lines, one object per line, decimals as numbers', async () => {
    const [lines, { rows }] = await Promise.all([exportJsonl(orgA), exportCsv(orgA)]);

    expect(lines).toHaveLength(rows.length);
    for (const line of lines) {
      expect(Object.keys(line)).toEqual([...FOCUS_COLUMNS]);
      expect(typeof line.BilledCost).toBe('number');
      expect(typeof line.EffectiveCost).toBe('number');
      expect(line.ChargeClass).toBeNull();
    }
    expect(lines.find((l) => l.x_Source === 'saas')?.x_Model).toBe(PLAN);
  });

  it('keeps orgs apart: an org sees only its own usage and subscriptions', async () => {
    const [{ rows: a }, { rows: b }] = await Promise.all([exportCsv(orgA), exportCsv(orgB)]);

    expect(a.some((r) => r.x_Model === 'gpt-4o-mini' || r.ProviderName === 'other-vendor')).toBe(false);
    expect(new Set(b.map((r) => r.BillingAccountId))).toEqual(new Set([orgB.orgSlug]));
    expect(b.some((r) => r.x_Model === 'gpt-4o-2024-08-06' || r.x_Model === PLAN)).toBe(false);
    expect(b.filter((r) => r.x_Source !== 'saas').map((r) => [r.x_Model, r.x_TokenClass, r.EffectiveCost])).toEqual([['gpt-4o-mini', 'all', '1.000000000']]);
  });

  it.each([
    ['a span of 367 days', 'from=2023-01-01&to=2024-01-02&format=csv', 'to'],
    ['from after to', 'from=2024-03-02&to=2024-03-01', 'from'],
    ['an unknown format', 'from=2024-03-01&to=2024-03-02&format=xlsx', 'format'],
  ])('refuses %s with 400 before writing anything', async (_name, query, field) => {
    const res = await call(fn.url, orgA.apiKey, 'GET', `/v1/costs/export?${query}`);

    expect(res.status).toBe(400);
    expect(res.headers.get('content-disposition')).toBeNull();
    expect(JSON.stringify(res.body)).toContain(field);
  });

  it('answers a span of 366 days', async () => {
    const res = await call(fn.url, orgA.apiKey, 'GET', '/v1/costs/export?from=2024-01-01&to=2024-12-31&format=jsonl');

    expect(res.status).toBe(200);
  });

  it('refuses a caller without a key', async () => {
    const res = await call(fn.url, 'not-a-key', 'GET', `/v1/costs/export?from=${FROM}&to=${TO}`);

    expect(res.status).toBe(401);
  });
});

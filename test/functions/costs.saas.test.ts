import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import { accrue, type AccruingSubscription } from '../../shared/spend/index.js';
import { dayNumber } from '../../functions/costs/schema.js';
import { formatUsd } from '../../shared/money/index.js';
import { call, closeFunctionRuntime, closeTestDb, createTenant, serveFunction, testDb, type ServedFunction, type TestTenant } from '../helpers/tenants.js';

/*
 * SaaS spend in /v1/costs: each subscription accrues `seats × unit_price_usd` per calendar
 * month (monthly) or per year from its start (annual), spread evenly over that month's or
 * year's days, from start to end (both included). Every figure below is worked out by hand.
 */

const day = (text: string): number => dayNumber(text) as number;
const sub = (s: Partial<AccruingSubscription> & { start: string; end?: string }): AccruingSubscription => ({
  vendor: s.vendor ?? 'v',
  plan_name: s.plan_name ?? 'p',
  seats: s.seats ?? 1,
  unit_price_usd: s.unit_price_usd ?? '0',
  billing_cycle: s.billing_cycle ?? 'monthly',
  start_day: day(s.start),
  end_day: s.end === undefined ? null : day(s.end),
});
const total = (m: Map<string, bigint>): string => formatUsd([...m.values()].reduce((a, b) => a + b, 0n));

describe('the accrual', () => {
  it.each([
    // 10 seats × $12 = $120 a month; March has 31 days.
    { case: 'a monthly subscription over a whole month', s: { seats: 10, unit_price_usd: '12', start: '2024-01-15' }, from: '2024-03-01', to: '2024-03-31', usd: '120.000000000' },
    // From the 16th: 16 of 31 days. 120 × 16 / 31 = 61.935483870967… → half-even to the nano.
    { case: 'a monthly subscription started mid-month', s: { seats: 10, unit_price_usd: '12', start: '2024-03-16' }, from: '2024-03-01', to: '2024-03-31', usd: '61.935483871' },
    // Cancelled on the 10th: 10 of 31 days.
    { case: 'a cancelled subscription, up to its end date', s: { seats: 10, unit_price_usd: '12', start: '2023-01-01', end: '2024-03-10' }, from: '2024-03-01', to: '2024-03-31', usd: '38.709677419' },
    // February 2024 has 29 days: the month is still exactly $120.
    { case: 'a monthly subscription over a leap February', s: { seats: 10, unit_price_usd: '12', start: '2023-01-01' }, from: '2024-02-01', to: '2024-02-29', usd: '120.000000000' },
    // Annual $3,650 from 2023-06-01: that year (to 2024-05-31) holds 29 Feb 2024, 366 days. February: 3650 × 29 / 366.
    { case: 'an annual subscription over a leap year\'s February', s: { unit_price_usd: '3650', billing_cycle: 'annual' as const, start: '2023-06-01' }, from: '2024-02-01', to: '2024-02-29', usd: '289.207650273' },
    // The same over its whole first year: exactly the year's price.
    { case: 'an annual subscription over its whole year', s: { unit_price_usd: '3650', billing_cycle: 'annual' as const, start: '2023-06-01' }, from: '2023-06-01', to: '2024-05-31', usd: '3650.000000000' },
    { case: 'a subscription that starts after the range', s: { unit_price_usd: '99', start: '2024-04-01' }, from: '2024-03-01', to: '2024-03-31', usd: '0.000000000' },
  ])('accrues $case to the nano-dollar', ({ s, from, to, usd }) => {
    expect(total(accrue([sub(s)], day(from), day(to), 'constant'))).toBe(usd);
  });

  it('spreads a month evenly over its days, and its days add up to the month within a nano-dollar per day', () => {
    const byDay = accrue([sub({ seats: 10, unit_price_usd: '12', start: '2024-01-01' })], day('2024-03-01'), day('2024-03-31'), 'day');

    expect(byDay.size).toBe(31);
    // 120 / 31 = 3.870967741935… → 3.870967742 each day.
    expect(new Set([...byDay.values()].map(formatUsd))).toEqual(new Set(['3.870967742']));
    expect(Math.abs(Number([...byDay.values()].reduce((a, b) => a + b, 0n) - 120_000_000_000n))).toBeLessThanOrEqual(31);
  });

  it('stays linear in subscriptions: 5,000 subscriptions over 366 days are priced at once', () => {
    const subs = Array.from({ length: 5000 }, (_, i) =>
      sub({ vendor: `vendor_${i % 50}`, seats: 1 + (i % 20), unit_price_usd: '19.99', billing_cycle: i % 3 === 0 ? 'annual' : 'monthly', start: '2023-01-01' }),
    );

    const byDay = accrue(subs, day('2024-01-01'), day('2024-12-31'), 'day');
    const byVendor = accrue(subs, day('2024-01-01'), day('2024-12-31'), 'vendor');

    expect(byDay.size).toBe(366);
    expect(byVendor.size).toBe(50);
  });
});

describe('GET /v1/costs with subscriptions', () => {
  let endpoint: BigQueryEndpoint;
  let fn: ServedFunction;
  let org: TestTenant;

  beforeAll(async () => {
    endpoint = await startBigQueryEndpoint({ port: 0 });
    process.env.FUNCTION_NAME = 'costs';
    process.env.BIGQUERY_API_ENDPOINT = endpoint.url;
    process.env.COSTS_CACHE_TTL_MS = '0';
    await import('../../functions/costs/index.js');
    fn = await serveFunction('costs');
    org = await createTenant({ slugPrefix: 'costs_saas' });
    // No BigQuery dataset at all: SaaS spend needs none.
    await testDb().query(
      `INSERT INTO subscriptions (org_id, vendor, plan_name, seats, unit_price_usd, billing_cycle, start_date, end_date, status) VALUES
         ($1, 'slack', 'pro', 10, 12, 'monthly', '2024-01-15', NULL, 'active'),
         ($1, 'figma', 'org', 10, 12, 'monthly', '2024-03-16', NULL, 'active'),
         ($1, 'zoom', 'business', 10, 12, 'monthly', '2023-01-01', '2024-03-10', 'cancelled'),
         ($1, 'notion', 'plus', 1, 3650, 'annual', '2023-06-01', NULL, 'active')`,
      [org.orgId],
    );
  });

  afterAll(async () => {
    await fn?.close();
    await closeTestDb();
    await closeFunctionRuntime();
    await endpoint?.close();
  });

  async function costs(query: string): Promise<{ rows: { key: string; cost_usd: number; billed_cost_usd: number | null }[]; totals: Record<string, number | null> }> {
    const res = await call(fn.url, org.apiKey, 'GET', `/v1/costs${query}`);
    expect(res.status, res.text).toBe(200);
    return res.body as never;
  }

  it('shows each vendor\'s accrual to the cent, and SaaS in the totals', async () => {
    const view = await costs('?from=2024-03-01&to=2024-03-31&group_by=vendor');

    // notion: 3650 × 31 / 366 = 309.153005464…
    expect(view.rows.map((r) => [r.key, r.cost_usd, r.billed_cost_usd])).toEqual([
      ['figma', 61.935484, null],
      ['notion', 309.153005, null],
      ['slack', 120, null],
      ['zoom', 38.709677, null],
    ]);
    // 120 + 61.935483871 + 38.709677419 + 309.153005464 = 529.798166754
    expect(view.totals).toMatchObject({ cost_usd: 529.798167, saas_cost_usd: 529.798167, llm_cost_usd: 0, billed_cost_usd: null });
  });

  it('keys SaaS spend as category saas and source saas, by day too, and leaves it out of category=llm', async () => {
    const byCategory = await costs('?from=2024-03-01&to=2024-03-31&group_by=category');
    const bySource = await costs('?from=2024-03-01&to=2024-03-31&group_by=source&category=saas');
    const byDay = await costs('?from=2024-03-01&to=2024-03-02&group_by=day');
    const llmOnly = await costs('?from=2024-03-01&to=2024-03-31&category=llm');

    expect(byCategory.rows.map((r) => [r.key, r.cost_usd])).toEqual([['saas', 529.798167]]);
    expect(bySource.rows.map((r) => r.key)).toEqual(['saas']);
    // The 1st: slack 3.870967742 + zoom 3.870967742 + notion 9.972677596 = 17.71461308
    expect(byDay.rows.map((r) => [r.key, r.cost_usd])).toEqual([
      ['2024-03-01', 17.714613],
      ['2024-03-02', 17.714613],
    ]);
    expect(llmOnly.rows).toEqual([]);
    expect(llmOnly.totals).toMatchObject({ cost_usd: 0, saas_cost_usd: 0 });
  });

  it('accrues nothing after today', async () => {
    const farFuture = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const today = new Date().toISOString().slice(0, 10);
    const upToToday = await costs(`?from=${today}&to=${today}&group_by=day`);
    const withFuture = await costs(`?from=${today}&to=${farFuture}&group_by=day`);

    expect(withFuture.rows.map((r) => r.key)).toEqual(upToToday.rows.map((r) => r.key));
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDb } from '../../shared/db/index.js';
import { loadPricing, priceRows, pricingKey, type PricingTable, type UsageRow } from '../../shared/providers/index.js';
import { closeFunctionRuntime, closeTestDb, createTenant, testDb, type TestTenant } from '../helpers/tenants.js';

const DATE = '2026-11-27';

function row(provider: string, model: string, input_tokens: number, output_tokens: number): UsageRow {
  return { usage_date: DATE, provider, model, requests: 1, input_tokens, output_tokens };
}

describe('priceRows', () => {
  const pricing: PricingTable = new Map([
    [pricingKey('openai', 'gpt-4o'), { input_per_1k_usd: '0.0025', output_per_1k_usd: '0.01' }],
    [pricingKey('openai', 'tenths'), { input_per_1k_usd: '0.1', output_per_1k_usd: '0.2' }],
    [pricingKey('openai', 'tiny'), { input_per_1k_usd: '0.0000001234', output_per_1k_usd: '0' }],
    [pricingKey('openai', 'half'), { input_per_1k_usd: '0.0000005', output_per_1k_usd: '0.0000005000' }],
    [pricingKey('openai', 'big'), { input_per_1k_usd: '60', output_per_1k_usd: '120.0000000001' }],
  ]);

  it.each([
    { case: 'tokens times the per-1k prices', row: row('openai', 'gpt-4o', 105_000, 37_000), cost: '0.632500000' },
    { case: 'exactly, where floats would drift (3000 × 0.1 / 1000)', row: row('openai', 'tenths', 3_000, 1_000), cost: '0.500000000' },
    { case: 'rounded once to 9 decimals, below half down', row: row('openai', 'tiny', 1, 0), cost: '0.000000000' },
    { case: 'rounded once to 9 decimals, above half up', row: row('openai', 'tiny', 5, 0), cost: '0.000000001' },
    { case: 'rounded half up at exactly half a nano-dollar', row: row('openai', 'half', 1, 0), cost: '0.000000001' },
    { case: 'exact for volumes past 2^53 nano-dollars', row: row('openai', 'big', 1_000_000_000_000, 1_000_000_000_000), cost: '180000000000.100000000' },
    { case: 'zero for zero tokens', row: row('openai', 'gpt-4o', 0, 0), cost: '0.000000000' },
  ])('prices $case', ({ row: usage, cost }) => {
    const result = priceRows([usage], pricing);

    // One row: the run's total is that row's cost.
    expect(result).toEqual({ rows: [{ ...usage, cost_usd: cost }], unpricedRows: 0, totalCostUsd: cost });
  });

  it('loads rows without a price at cost 0 and counts them, never dropping them', () => {
    const rows = [row('openai', 'gpt-4o', 1_000, 1_000), row('openai', 'unknown', 500, 500), row('anthropic', 'gpt-4o', 1_000, 1_000)];

    const result = priceRows(rows, pricing);

    // The price of openai/gpt-4o does not price anthropic/gpt-4o: prices are per provider and model.
    expect(result.rows.map((r) => [r.provider, r.model, r.cost_usd])).toEqual([
      ['openai', 'gpt-4o', '0.012500000'],
      ['openai', 'unknown', '0.000000000'],
      ['anthropic', 'gpt-4o', '0.000000000'],
    ]);
    expect(result.unpricedRows).toBe(2);
    expect(result.totalCostUsd).toBe('0.012500000');
  });

  it('refuses token counts that are not non-negative integers', () => {
    expect(() => priceRows([row('openai', 'gpt-4o', 1.5, 0)], pricing)).toThrow(RangeError);
    expect(() => priceRows([row('openai', 'gpt-4o', -1, 0)], pricing)).toThrow(RangeError);
  });
});

describe('loadPricing', () => {
  let org: TestTenant;
  let other: TestTenant;

  beforeAll(async () => {
    [org, other] = await Promise.all([createTenant({ slugPrefix: 'price' }), createTenant({ slugPrefix: 'price' })]);
    const insert = `INSERT INTO llm_pricing (org_id, provider, model, input_per_1k_usd, output_per_1k_usd) VALUES ($1, $2, $3, $4, $5)`;
    for (const [orgId, provider, model, input, output] of [
      [org.orgId, 'openai', 'gpt-4o', '0.0025', '0.01'],
      [org.orgId, 'openai', 'tiny', '0.0000001234', '0.0000000001'],
      [org.orgId, 'anthropic', 'claude-3-haiku', '0.00025', '0.00125'],
      [org.orgId, 'mistral', 'mistral-large', '0.002', '0.006'],
      [other.orgId, 'openai', 'gpt-4o', '9', '9'],
    ] as const) {
      await testDb().query(insert, [orgId, provider, model, input, output]);
    }
  });

  afterAll(async () => {
    await closeFunctionRuntime();
    await closeTestDb();
  });

  it("reads the org's prices of the given providers as exact decimal text", async () => {
    const pricing = await loadPricing(await getDb(), org.orgId, ['openai', 'anthropic']);

    expect(Object.fromEntries([...pricing].map(([key, price]) => [key.replace('\u0000', '/'), price]))).toEqual({
      'openai/gpt-4o': { input_per_1k_usd: '0.0025000000', output_per_1k_usd: '0.0100000000' },
      'openai/tiny': { input_per_1k_usd: '0.0000001234', output_per_1k_usd: '0.0000000001' },
      'anthropic/claude-3-haiku': { input_per_1k_usd: '0.0002500000', output_per_1k_usd: '0.0012500000' },
    });
  });

  it('prices rows with what it loaded', async () => {
    const pricing = await loadPricing(await getDb(), org.orgId, ['openai']);

    const result = priceRows([row('openai', 'tiny', 1_000_000, 1_000_000), row('openai', 'gpt-4o', 2_000, 0)], pricing);

    // 1,000 × 0.0000001234 + 1,000 × 0.0000000001 = 0.0001235.
    expect(result.rows.map((r) => r.cost_usd)).toEqual(['0.000123500', '0.005000000']);
    expect(result.unpricedRows).toBe(0);
    // The run's cost: the exact sum of what the rows load.
    expect(result.totalCostUsd).toBe('0.005123500');
  });

  it('reads nothing for an empty provider set or an org without prices', async () => {
    const db = await getDb();
    const none = await createTenant({ slugPrefix: 'price' });

    expect((await loadPricing(db, org.orgId, [])).size).toBe(0);
    expect((await loadPricing(db, none.orgId, ['openai'])).size).toBe(0);
  });

  it('works on the test pool too (any queryable: a pool or a transaction client)', async () => {
    const client = await testDb().connect();
    try {
      const pricing = await loadPricing(client, other.orgId, ['openai']);
      expect(pricing.get(pricingKey('openai', 'gpt-4o'))).toEqual({ input_per_1k_usd: '9.0000000000', output_per_1k_usd: '9.0000000000' });
    } finally {
      client.release();
    }
  });
});

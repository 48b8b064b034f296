import type { UsageRow } from './UsageRow.js';

/**
 * One model's price, in USD per 1,000 tokens, as exact decimal text (`"0.0025"`), the way
 * PostgreSQL's `numeric(20,10)` prints it — never a float, whose binary rounding would
 * leak into the cost.
 */
export interface ModelPrice {
  input_per_1k_usd: string;
  output_per_1k_usd: string;
}

/** An org's prices keyed by {@link pricingKey}. */
export type PricingTable = ReadonlyMap<string, ModelPrice>;

/** A usage row with its cost: NUMERIC decimal text with 9 decimals (BigQuery NUMERIC's scale). */
export type PricedRow = UsageRow & { cost_usd: string };

/** The key of (provider, model) in a {@link PricingTable}; NUL cannot occur in either. */
export function pricingKey(provider: string, model: string): string {
  return `${provider}\u0000${model}`;
}

/** Digits kept after the point in a price: `numeric(20,10)`. */
const PRICE_SCALE = 10;
/** Digits kept after the point in a cost: BigQuery NUMERIC. */
const COST_SCALE = 9;
const PRICE = /^(\d+)(?:\.(\d{1,10}))?$/;

/** `"0.0025"` → 25_000_000n (units of 1e-10 USD). Throws on anything but a plain non-negative decimal. */
function priceUnits(decimal: string): bigint {
  const match = PRICE.exec(decimal.trim());
  if (match === null) throw new RangeError(`Not a price decimal: ${JSON.stringify(decimal)}`);
  const [, whole, fraction = ''] = match;
  return BigInt(whole as string) * 10n ** BigInt(PRICE_SCALE) + BigInt(fraction.padEnd(PRICE_SCALE, '0'));
}

const COST_FACTOR = 10n ** BigInt(COST_SCALE);
/** tokens × price units are in 1e-13 USD (1e-10 per 1k tokens); this brings them to 1e-9. */
const EXACT_TO_COST = 10n ** BigInt(PRICE_SCALE + 3 - COST_SCALE);
const ZERO_COST = '0.000000000';

/** Integer units of 1e-9 USD → decimal text with 9 decimals. */
function unitsToDecimal(units: bigint): string {
  return `${units / COST_FACTOR}.${(units % COST_FACTOR).toString().padStart(COST_SCALE, '0')}`;
}

/**
 * Prices each row with the org's pricing table:
 * `cost = input_tokens × input_per_1k / 1000 + output_tokens × output_per_1k / 1000`,
 * computed exactly in integers (prices have 10 decimals, so the exact cost has 13) and
 * rounded once, half up, to 9 decimals — the scale of the `cost_usd NUMERIC` column, so
 * the text loads into BigQuery without further rounding.
 *
 * A row whose (provider, model) has no price is loaded with cost `0.000000000` and counted
 * in `unpricedRows` (the run's `unpriced_rows`): never priced by a guess, never dropped.
 * `totalCostUsd` is the exact sum of the rows' costs (the run's `cost_usd`).
 *
 * @throws RangeError when a row's token counts are not non-negative safe integers or a
 *   price is not a plain decimal (a bug upstream, not a provider's answer)
 */
export function priceRows(rows: readonly UsageRow[], pricing: PricingTable): { rows: PricedRow[]; unpricedRows: number; totalCostUsd: string } {
  let unpricedRows = 0;
  // The sum of the rounded row costs, exactly: what the loaded rows add up to.
  let totalUnits = 0n;
  // Each price is parsed once per call, not once per row.
  const parsed = new Map<string, { input: bigint; output: bigint }>();
  const priced = rows.map((row): PricedRow => {
    for (const field of ['requests', 'input_tokens', 'output_tokens'] as const) {
      if (!Number.isSafeInteger(row[field]) || row[field] < 0) throw new RangeError(`${field} of ${row.provider}/${row.model} must be a non-negative integer`);
    }
    const key = pricingKey(row.provider, row.model);
    let units = parsed.get(key);
    if (units === undefined) {
      const price = pricing.get(key);
      if (price === undefined) {
        unpricedRows += 1;
        return { ...row, cost_usd: ZERO_COST };
      }
      units = { input: priceUnits(price.input_per_1k_usd), output: priceUnits(price.output_per_1k_usd) };
      parsed.set(key, units);
    }
    // tokens × (units of 1e-10 USD per 1k tokens) = units of 1e-13 USD.
    const exact = BigInt(row.input_tokens) * units.input + BigInt(row.output_tokens) * units.output;
    const cost = (exact + EXACT_TO_COST / 2n) / EXACT_TO_COST;
    totalUnits += cost;
    return { ...row, cost_usd: unitsToDecimal(cost) };
  });
  return { rows: priced, unpricedRows, totalCostUsd: unitsToDecimal(totalUnits) };
}

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

/** Integer units of 10^-`scale` USD → decimal text with `scale` decimals. */
function unitsToDecimal(units: bigint, scale: number): string {
  const factor = 10n ** BigInt(scale);
  return `${units / factor}.${(units % factor).toString().padStart(scale, '0')}`;
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
 *
 * @throws RangeError when a row's token counts are not non-negative safe integers or a
 *   price is not a plain decimal (a bug upstream, not a provider's answer)
 */
export function priceRows(rows: readonly UsageRow[], pricing: PricingTable): { rows: PricedRow[]; unpricedRows: number } {
  let unpricedRows = 0;
  const priced = rows.map((row): PricedRow => {
    for (const field of ['requests', 'input_tokens', 'output_tokens'] as const) {
      if (!Number.isSafeInteger(row[field]) || row[field] < 0) throw new RangeError(`${field} of ${row.provider}/${row.model} must be a non-negative integer`);
    }
    const price = pricing.get(pricingKey(row.provider, row.model));
    if (price === undefined) {
      unpricedRows += 1;
      return { ...row, cost_usd: unitsToDecimal(0n, COST_SCALE) };
    }
    // tokens × (units of 1e-10 USD per 1k tokens) = units of 1e-13 USD.
    const exact = BigInt(row.input_tokens) * priceUnits(price.input_per_1k_usd) + BigInt(row.output_tokens) * priceUnits(price.output_per_1k_usd);
    const divisor = 10n ** BigInt(PRICE_SCALE + 3 - COST_SCALE);
    const rounded = (exact + divisor / 2n) / divisor;
    return { ...row, cost_usd: unitsToDecimal(rounded, COST_SCALE) };
  });
  return { rows: priced, unpricedRows };
}

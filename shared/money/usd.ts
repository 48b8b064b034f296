import { divideHalfEven, formatDecimal, parseDecimal, rescale } from './decimal.js';

/**
 * USD amounts in CloudAct are integer nano-dollars (10^-9 USD, a `bigint`): the scale of
 * BigQuery NUMERIC, where costs are stored and summed. They become a decimal string for
 * BigQuery and PostgreSQL (`numeric`), and a JSON number only at the API's edge, rounded
 * there once, half-even, to 6 places.
 */
export type Nanos = bigint;

/** Digits after the point of an amount: BigQuery NUMERIC's scale. */
export const USD_SCALE = 9;
/** Digits after the point the API shows (micro-dollars). */
export const API_SCALE = 6;

/**
 * A USD amount as the provider or the database sent it (`"1.2378912"`, `0.06`, `"12"`) →
 * nano-dollars. A JSON number is read through its shortest text (`String(0.06)` is
 * `"0.06"`), which is exactly what the provider wrote for any amount with up to 15
 * significant digits. Digits past the ninth decimal are rounded half-even.
 */
export function parseUsd(amount: string | number): Nanos {
  if (typeof amount === 'number') {
    if (!Number.isFinite(amount)) throw new RangeError(`Not a finite amount: ${amount}`);
    // Exponent notation (1e-7, 1.5e21) is expanded first: it is a number, just not a plain decimal.
    return parseDecimal(/e/i.test(String(amount)) ? expandExponent(amount) : String(amount), USD_SCALE, { round: true });
  }
  return parseDecimal(amount, USD_SCALE, { round: true });
}

/** Amounts in cents (Anthropic's cost report: `"123.78912"` = $1.2378912) → nano-dollars, exactly. */
export function parseUsdCents(cents: string): Nanos {
  // cents × 10^7 = nanos: parse at scale 7 (rounding half-even past it), and the units are nanos.
  return parseDecimal(cents, USD_SCALE - 2, { round: true });
}

/** Nano-dollars → the NUMERIC text BigQuery and PostgreSQL take (`"1.237891200"`). */
export function formatUsd(nanos: Nanos): string {
  return formatDecimal(nanos, USD_SCALE);
}

/** Nano-dollars → the API's JSON number: rounded half-even to 6 places, once, here. */
export function usdForApi(nanos: Nanos): number {
  return Number(formatDecimal(rescale(nanos, USD_SCALE, API_SCALE), API_SCALE));
}

/** The sum of amounts. */
export function sumUsd(amounts: Iterable<Nanos>): Nanos {
  let total = 0n;
  for (const a of amounts) total += a;
  return total;
}

/** The exact product of a token count and a price per 1M tokens (units at `priceScale`), times an optional multiplier (units at `multiplierScale`), in nano-dollars, rounded half-even. */
export function tokensCostNanos(exactUnits: bigint, unitScale: number): Nanos {
  // exactUnits are USD × 10^unitScale × 10^6 (per million tokens): nanos = / 10^(unitScale + 6 - 9).
  return divideHalfEven(exactUnits, 10n ** BigInt(unitScale + 6 - USD_SCALE));
}

function expandExponent(value: number): string {
  // toFixed handles up to 100 digits; 20 decimals is far past nano-dollars.
  return value.toFixed(20);
}

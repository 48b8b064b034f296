/**
 * Exact money arithmetic for BigQuery NUMERIC (9 decimal digits): amounts travel as
 * decimal strings, are summed as integer nano-units (bigint), and become JSON numbers
 * only once, rounded, at the edge. Summing floats instead would drift by a few
 * nano-dollars per row.
 */
const NUMERIC_SCALE = 9;
const DECIMAL = /^(-)?(\d+)(?:\.(\d{1,9}))?$/;

/** `"12.5"` → 12_500_000_000n. Throws on anything that is not a plain NUMERIC decimal. */
export function parseNanos(decimal: string): bigint {
  const match = DECIMAL.exec(decimal.trim());
  if (match === null) throw new Error(`Not a NUMERIC decimal: ${JSON.stringify(decimal)}`);
  const [, sign, whole, fraction = ''] = match;
  const nanos = BigInt(whole as string) * 10n ** BigInt(NUMERIC_SCALE) + BigInt(fraction.padEnd(NUMERIC_SCALE, '0'));
  return sign === '-' ? -nanos : nanos;
}

/** Nano-units → a number rounded to `digits` decimals, halves away from zero. */
export function nanosToNumber(nanos: bigint, digits = 6): number {
  const factor = 10n ** BigInt(NUMERIC_SCALE - digits);
  const negative = nanos < 0n;
  const magnitude = negative ? -nanos : nanos;
  let units = magnitude / factor;
  if ((magnitude % factor) * 2n >= factor) units += 1n;
  const value = Number(units) / 10 ** digits;
  return negative ? -value : value;
}

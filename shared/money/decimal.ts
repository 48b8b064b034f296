/**
 * Exact decimals as scaled integers: `"12.5"` at scale 9 is `12_500_000_000n`. The one
 * codec money goes through, from the provider's answer to BigQuery NUMERIC to the API — a
 * float anywhere on the way would round each amount, and a sum of many.
 */

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

/**
 * Parses a plain decimal (`"0.075"`, `"-3"`, `"12."` is refused) into units of
 * 10^-`scale`. Digits beyond `scale` are an error unless `round` is set, in which case the
 * value is rounded half-even to `scale` — said where it happens, never silently.
 *
 * @throws RangeError when `text` is not a plain decimal, or has too many digits for `scale` without `round`
 */
export function parseDecimal(text: string, scale: number, { round = false }: { round?: boolean } = {}): bigint {
  const match = DECIMAL.exec(text.trim());
  if (match === null) throw new RangeError(`Not a decimal: ${JSON.stringify(text)}`);
  const [, sign, whole, fraction = ''] = match;
  let units: bigint;
  if (fraction.length <= scale) {
    units = BigInt(whole as string) * 10n ** BigInt(scale) + BigInt(fraction.padEnd(scale, '0'));
  } else {
    if (!round) throw new RangeError(`${JSON.stringify(text)} has more than ${scale} decimals`);
    const exact = BigInt(`${whole as string}${fraction}`);
    units = divideHalfEven(exact, 10n ** BigInt(fraction.length - scale));
  }
  return sign === '-' ? -units : units;
}

/** Units of 10^-`scale` → a plain decimal with exactly `scale` decimals (`"0.075000000"`). */
export function formatDecimal(units: bigint, scale: number): string {
  const negative = units < 0n;
  const magnitude = negative ? -units : units;
  const factor = 10n ** BigInt(scale);
  const whole = (magnitude / factor).toString();
  const text = scale === 0 ? whole : `${whole}.${(magnitude % factor).toString().padStart(scale, '0')}`;
  return negative ? `-${text}` : text;
}

/** A plain decimal with trailing zeros (and a bare point) removed: `"2.500"` → `"2.5"`, `"3.000"` → `"3"`. */
export function trimDecimal(text: string): string {
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}

/** `numerator / divisor` rounded half to even (banker's rounding); `divisor` > 0. */
export function divideHalfEven(numerator: bigint, divisor: bigint): bigint {
  const negative = numerator < 0n;
  const magnitude = negative ? -numerator : numerator;
  let quotient = magnitude / divisor;
  const twiceRemainder = (magnitude % divisor) * 2n;
  if (twiceRemainder > divisor || (twiceRemainder === divisor && quotient % 2n === 1n)) quotient += 1n;
  return negative ? -quotient : quotient;
}

/** Units at `from` scale → units at `to` scale (≤ `from`), rounded half-even. */
export function rescale(units: bigint, from: number, to: number): bigint {
  if (to >= from) return units * 10n ** BigInt(to - from);
  return divideHalfEven(units, 10n ** BigInt(from - to));
}

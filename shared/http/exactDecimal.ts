import * as z from 'zod';
import { parseDecimal } from '../money/index.js';

/** Options of {@link exactDecimal}. */
export interface ExactDecimalOptions {
  /** Decimals a value may have (its column's scale). */
  scale: number;
  /** The highest value accepted. */
  max: number;
  /** Which texts are decimals at all: the message refusing `text`, or undefined. Checked first. */
  shape: (text: string) => string | undefined;
  /** `positive` refuses 0 as well. @default 'zero' */
  min?: 'zero' | 'positive';
}

/**
 * A money amount kept exact, as the text sent: a decimal string, or a JSON number read
 * through its shortest text (`String(n)`: `1234.5` → `"1234.5"`), never through a float sum
 * or a rounding. After `shape`: at most `scale` decimals, above 0 when `positive`, at most
 * `max` — each refused with its own message. Budgets' `amount_usd` and the price lists'
 * prices per 1M tokens.
 */
export function exactDecimal({ scale, max, shape, min = 'zero' }: ExactDecimalOptions): z.ZodType<string, string | number> {
  const maxUnits = BigInt(max) * 10n ** BigInt(scale);
  return z.union([z.string(), z.number()], { error: 'must be a decimal string or a number' }).transform((value, ctx): string => {
    const text = typeof value === 'number' ? String(value) : value;
    const refuse = (message: string): never => {
      ctx.issues.push({ code: 'custom', message, input: value });
      return z.NEVER;
    };
    const wrongShape = shape(text);
    if (wrongShape !== undefined) return refuse(wrongShape);
    let units: bigint;
    try {
      units = parseDecimal(text, scale);
    } catch {
      return refuse(`must have at most ${scale} decimals`);
    }
    if (min === 'positive' && units <= 0n) return refuse('must be greater than 0');
    if (units > maxUnits) return refuse(`must be at most ${max}`);
    return text;
  });
}

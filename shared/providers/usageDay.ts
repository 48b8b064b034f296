import { InvalidArgumentError } from '../errors/index.js';
import { ProviderResponseError } from './errors.js';

const DAY_MS = 86_400_000;

/** One UTC day: `[startMs, endMs)`. */
export interface UsageDay {
  date: string;
  startMs: number;
  endMs: number;
}

/** `YYYY-MM-DD` → its UTC bounds; anything that is not a real calendar day is `INVALID_ARGUMENT`. */
export function usageDay(date: string): UsageDay {
  const startMs = /^\d{4}-\d{2}-\d{2}$/.test(date) ? Date.parse(`${date}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(startMs) || new Date(startMs).toISOString().slice(0, 10) !== date) {
    throw new InvalidArgumentError('Invalid usage date', [{ path: 'date', message: `must be a day as YYYY-MM-DD, got ${JSON.stringify(date)}` }]);
  }
  return { date, startMs, endMs: startMs + DAY_MS };
}

/** Adds one model's numbers to the day's per-model totals, keeping every total a safe integer. */
export function addUsage(
  provider: string,
  totals: Map<string, { requests: number; input_tokens: number; output_tokens: number }>,
  model: string,
  usage: { requests: number; input_tokens: number; output_tokens: number },
): void {
  const current = totals.get(model) ?? { requests: 0, input_tokens: 0, output_tokens: 0 };
  const next = {
    requests: current.requests + usage.requests,
    input_tokens: current.input_tokens + usage.input_tokens,
    output_tokens: current.output_tokens + usage.output_tokens,
  };
  if (!Number.isSafeInteger(next.requests) || !Number.isSafeInteger(next.input_tokens) || !Number.isSafeInteger(next.output_tokens)) {
    throw new ProviderResponseError(provider, `The ${provider} usage API reported more usage of one model than can be counted exactly`);
  }
  totals.set(model, next);
}

import { InvalidArgumentError } from '../errors/index.js';

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

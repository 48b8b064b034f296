/** UTC calendar days as `YYYY-MM-DD`: the grain of spend, and of the periods budgets count it over. */
const MS_PER_DAY = 86_400_000;

/** `YYYY-MM-DD` of a UTC instant (now by default). */
export function utcDay(ms: number = Date.now()): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Days since 1970-01-01 of a valid `YYYY-MM-DD`. */
export function dayIndex(day: string): number {
  return Math.round(Date.parse(`${day}T00:00:00Z`) / MS_PER_DAY);
}

/** `day` moved by `days` (negative: back). */
export function addDays(day: string, days: number): string {
  return utcDay((dayIndex(day) + days) * MS_PER_DAY);
}


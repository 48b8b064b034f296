/** A budget's period: a UTC calendar month, quarter or year (API.md). */
export const BUDGET_PERIODS = ['month', 'quarter', 'year'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

const MS_PER_DAY = 86_400_000;

/** `YYYY-MM-DD` of a UTC instant. */
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

/** The period of `kind` holding `day`: its first and last day, both included. */
export function periodOf(kind: BudgetPeriod, day: string): { start: string; end: string } {
  const date = new Date(`${day}T00:00:00Z`);
  const year = date.getUTCFullYear();
  const firstMonth = kind === 'month' ? date.getUTCMonth() : kind === 'quarter' ? date.getUTCMonth() - (date.getUTCMonth() % 3) : 0;
  const months = kind === 'month' ? 1 : kind === 'quarter' ? 3 : 12;
  return { start: utcDay(Date.UTC(year, firstMonth, 1)), end: utcDay(Date.UTC(year, firstMonth + months, 1) - MS_PER_DAY) };
}

import { addDays, utcDay } from '../spend/index.js';

/** A budget's period: a UTC calendar month, quarter or year (API.md). */
export const BUDGET_PERIODS = ['month', 'quarter', 'year'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/** The period of `kind` holding `day`: its first and last day, both included. */
export function periodOf(kind: BudgetPeriod, day: string): { start: string; end: string } {
  const date = new Date(`${day}T00:00:00Z`);
  const year = date.getUTCFullYear();
  const firstMonth = kind === 'month' ? date.getUTCMonth() : kind === 'quarter' ? date.getUTCMonth() - (date.getUTCMonth() % 3) : 0;
  const months = kind === 'month' ? 1 : kind === 'quarter' ? 3 : 12;
  return { start: utcDay(Date.UTC(year, firstMonth, 1)), end: addDays(utcDay(Date.UTC(year, firstMonth + months, 1)), -1) };
}

import { divideHalfEven, type Nanos } from '../money/index.js';
import { addDays, dayIndex, type SpendLine } from '../spend/index.js';
import { periodOf, type BudgetPeriod } from './periods.js';
import { inScope, type BudgetScope } from './scope.js';

/** The days the forecast's daily rate is averaged over: the last complete week before today. */
export const TRAILING_DAYS = 7;

/** A budget as its evaluation needs it. */
export interface BudgetTerms {
  amount: Nanos;
  period: BudgetPeriod;
  scope: BudgetScope;
  /** Ascending, distinct. */
  thresholds_pct: readonly number[];
  forecast: boolean;
}

export interface BudgetStatus {
  period_start: string;
  period_end: string;
  /** Period-to-date spend in scope, up to and including today (as far as loaded). */
  spent: Nanos;
  /** `spent` + the trailing 7-day daily average × the days left after today. */
  forecast: Nanos;
  /** `spent` / amount × 100, half-even to 2 places. */
  pct: number;
  /** The thresholds the spend has reached (spent × 100 ≥ threshold × amount, exactly), ascending. */
  crossed_pct: number[];
  next_threshold_pct: number | null;
  /** With `forecast` on: the forecast is above the amount. */
  forecast_exceeded: boolean;
}

/** The days a set of budgets needs loaded on `today`: from the earliest period start (or the trailing week, if earlier) to today. */
export function spendWindow(periods: Iterable<BudgetPeriod>, today: string): { from: string; to: string } {
  let from = addDays(today, -TRAILING_DAYS);
  for (const period of periods) {
    const { start } = periodOf(period, today);
    if (start < from) from = start;
  }
  return { from, to: today };
}

/**
 * Where a budget stands on `today` (UTC), from the org's daily spend lines (which must cover
 * {@link spendWindow}). Exact: sums in nano-dollars, thresholds compared without rounding.
 *
 * The forecast (README, "Budgets"): period-to-date spend plus the average daily spend of the
 * 7 days before today times the days left in the period after today. Today itself is
 * counted as far as it is loaded, never extrapolated: pipelines load whole past days.
 */
export function budgetStatus(terms: BudgetTerms, lines: readonly SpendLine[], today: string): BudgetStatus {
  const { start, end } = periodOf(terms.period, today);
  const trailingFrom = addDays(today, -TRAILING_DAYS);
  let spent = 0n;
  let trailing = 0n;
  for (const line of lines) {
    if (line.day > today || !inScope(terms.scope, line)) continue;
    if (line.day >= start) spent += line.nanos;
    if (line.day >= trailingFrom && line.day < today) trailing += line.nanos;
  }
  const daysLeft = BigInt(dayIndex(end) - dayIndex(today));
  const forecast = spent + divideHalfEven(trailing * daysLeft, BigInt(TRAILING_DAYS));
  const crossed = terms.thresholds_pct.filter((t) => spent * 100n >= BigInt(t) * terms.amount);
  const next = terms.thresholds_pct.find((t) => spent * 100n < BigInt(t) * terms.amount);
  return {
    period_start: start,
    period_end: end,
    spent,
    forecast,
    pct: Number(divideHalfEven(spent * 10_000n, terms.amount)) / 100,
    crossed_pct: crossed,
    next_threshold_pct: next ?? null,
    forecast_exceeded: terms.forecast && forecast > terms.amount,
  };
}

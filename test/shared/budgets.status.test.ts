import { describe, expect, it } from 'vitest';
import { budgetStatus, periodOf, spendWindow, type BudgetTerms } from '../../shared/budgets/index.js';
import { formatUsd, parseUsd } from '../../shared/money/index.js';
import type { SpendLine } from '../../shared/spend/index.js';

/*
 * Where a budget stands: period bounds, the exact threshold comparison, the forecast
 * (period-to-date + the 7 days before today's average × the days left after today), and the
 * scope rules. Every figure is worked out by hand in the comments.
 */

const llm = (day: string, usd: string, provider = 'openai', model = 'gpt-4o-2024-08-06'): SpendLine => ({ day, category: 'llm', provider, model, vendor: provider, nanos: parseUsd(usd) });
const saas = (day: string, usd: string, vendor = 'slack'): SpendLine => ({ day, category: 'saas', provider: null, model: null, vendor, nanos: parseUsd(usd) });
const terms = (t: Partial<BudgetTerms> = {}): BudgetTerms => ({ amount: parseUsd('100'), period: 'month', scope: {}, thresholds_pct: [50, 80, 100], forecast: true, ...t });

describe('budget periods (UTC calendar)', () => {
  it.each([
    { kind: 'month' as const, day: '2024-02-10', start: '2024-02-01', end: '2024-02-29' },
    { kind: 'month' as const, day: '2023-02-28', start: '2023-02-01', end: '2023-02-28' },
    { kind: 'quarter' as const, day: '2024-05-31', start: '2024-04-01', end: '2024-06-30' },
    { kind: 'quarter' as const, day: '2024-12-31', start: '2024-10-01', end: '2024-12-31' },
    { kind: 'year' as const, day: '2024-07-04', start: '2024-01-01', end: '2024-12-31' },
  ])('a $kind holding $day runs $start … $end', ({ kind, day, start, end }) => {
    expect(periodOf(kind, day)).toEqual({ start, end });
  });

  it('loads from the earliest period start, or the trailing week when that is earlier', () => {
    expect(spendWindow(['month', 'quarter'], '2024-05-20')).toEqual({ from: '2024-04-01', to: '2024-05-20' });
    expect(spendWindow(['month'], '2024-05-03')).toEqual({ from: '2024-04-26', to: '2024-05-03' });
  });
});

describe('budgetStatus', () => {
  it('counts period-to-date spend, crosses thresholds exactly, and forecasts from the trailing week', () => {
    // Today 2024-03-11. In March so far: 10 days × $7 (1st … 10th) + $2 today = $72.
    // Trailing week = 4th … 10th = 7 × $7 = $49 → $7/day; 31 − 11 = 20 days left → forecast 72 + 140 = $212.
    const lines = [...Array.from({ length: 10 }, (_, i) => llm(`2024-03-${String(i + 1).padStart(2, '0')}`, '7')), llm('2024-03-11', '2'), llm('2024-02-29', '500')];

    const status = budgetStatus(terms(), lines, '2024-03-11');

    expect(status).toMatchObject({ period_start: '2024-03-01', period_end: '2024-03-31', pct: 72, crossed_pct: [50], next_threshold_pct: 80, forecast_exceeded: true });
    expect(formatUsd(status.spent)).toBe('72.000000000');
    expect(formatUsd(status.forecast)).toBe('212.000000000');
  });

  it('reaches a threshold at exactly its share of the amount, not a nano-dollar before', () => {
    const at = budgetStatus(terms(), [llm('2024-03-05', '80')], '2024-03-05');
    const below = budgetStatus(terms(), [llm('2024-03-05', '79.999999999')], '2024-03-05');

    expect(at.crossed_pct).toEqual([50, 80]);
    expect(below.crossed_pct).toEqual([50]);
    // 79.999999999 % half-even to 2 places.
    expect(below.pct).toBe(80);
  });

  it('uses the days before the period for the rate at its start, and never extrapolates today', () => {
    // 2024-04-01: nothing spent in April; the week before (25th … 31st March) spent $70 → $10/day × 29 days left = $290.
    const lines = Array.from({ length: 7 }, (_, i) => llm(`2024-03-${25 + i}`, '10'));

    const status = budgetStatus(terms({ amount: parseUsd('1000') }), lines, '2024-04-01');

    expect(formatUsd(status.spent)).toBe('0.000000000');
    expect(formatUsd(status.forecast)).toBe('290.000000000');
    expect(status.forecast_exceeded).toBe(false);
  });

  it('raises no forecast when the budget does not forecast', () => {
    expect(budgetStatus(terms({ forecast: false }), [llm('2024-03-05', '60'), llm('2024-03-04', '60')], '2024-03-05').forecast_exceeded).toBe(false);
  });

  it.each([
    { scope: {}, usd: '16.000000000' },
    { scope: { category: 'llm' as const }, usd: '15.000000000' },
    { scope: { category: 'saas' as const }, usd: '1.000000000' },
    { scope: { provider: 'openai' }, usd: '5.000000000' },
    // A model scope covers its dated snapshots, never a longer model id.
    { scope: { model: 'gpt-4o' }, usd: '5.000000000' },
    { scope: { model: 'claude-sonnet-4-5' }, usd: '10.000000000' },
    // `vendor` is the provider for LLM spend and the vendor for subscriptions, as /v1/costs keys it.
    { scope: { vendor: 'anthropic' }, usd: '10.000000000' },
    { scope: { vendor: 'slack' }, usd: '1.000000000' },
    { scope: { provider: 'openai', model: 'gpt-4o-mini' }, usd: '0.000000000' },
  ])('counts only spend in scope $scope', ({ scope, usd }) => {
    const lines = [llm('2024-03-05', '5'), llm('2024-03-05', '10', 'anthropic', 'claude-sonnet-4-5-20250929'), saas('2024-03-05', '1')];

    expect(formatUsd(budgetStatus(terms({ scope }), lines, '2024-03-05').spent)).toBe(usd);
  });
});

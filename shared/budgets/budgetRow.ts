import { parseUsd, usdForApi } from '../money/index.js';
import type { BudgetPeriod } from './periods.js';
import type { BudgetScope } from './scope.js';
import type { BudgetTerms } from './status.js';

/** The columns of a budget, in the order every statement selects them. */
export const BUDGET_COLUMNS = `id, name, amount_usd::text AS amount_usd, period, scope, thresholds_pct, forecast, webhook_url, created_at, updated_at`;

/** A `budgets` row as selected with {@link BUDGET_COLUMNS}. */
export interface BudgetRow {
  id: string;
  name: string;
  /** Exact decimal text. */
  amount_usd: string;
  period: BudgetPeriod;
  scope: BudgetScope;
  thresholds_pct: number[];
  forecast: boolean;
  webhook_url: string;
  created_at: Date;
  updated_at: Date;
}

/** A budget as the API shows it. */
export interface BudgetView {
  id: string;
  name: string;
  amount_usd: number;
  period: BudgetPeriod;
  scope: BudgetScope;
  thresholds_pct: number[];
  forecast: boolean;
  webhook_url: string;
  created_at: string;
  updated_at: string;
}

export function budgetView(row: BudgetRow): BudgetView {
  return {
    id: row.id,
    name: row.name,
    amount_usd: usdForApi(parseUsd(row.amount_usd)),
    period: row.period,
    scope: row.scope,
    thresholds_pct: row.thresholds_pct,
    forecast: row.forecast,
    webhook_url: row.webhook_url,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** What the evaluation needs of a stored budget. */
export function budgetTerms(row: BudgetRow): BudgetTerms {
  return {
    amount: parseUsd(row.amount_usd),
    period: row.period,
    scope: row.scope,
    thresholds_pct: [...row.thresholds_pct].sort((a, b) => a - b),
    forecast: row.forecast,
  };
}

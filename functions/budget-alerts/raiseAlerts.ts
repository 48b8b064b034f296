import { randomUUID } from 'node:crypto';
import type { BudgetRow, BudgetStatus } from '../../shared/budgets/index.js';
import type { Db } from '../../shared/db/index.js';
import { parseUsd, usdForApi } from '../../shared/money/index.js';

/** What an alert is about: a threshold the spend crossed, or the forecast passing the amount. */
export type AlertKind = 'threshold' | 'forecast';

const TYPE: Record<AlertKind, string> = { threshold: 'budget.threshold_crossed', forecast: 'budget.forecast_exceeded' };

/** An alert an evaluation found due; raised only if no alert with its key exists yet. */
export interface AlertCandidate {
  id: string;
  budgetId: string;
  periodStart: string;
  kind: AlertKind;
  thresholdPct: number;
  webhookUrl: string;
  /** The webhook body (API.md), fixed now so every attempt sends the same bytes. */
  payload: string;
}

/** The alert a budget's status calls for, of one kind and threshold (a forecast alert's threshold is 100: the amount). */
export function alertCandidate(orgSlug: string, budget: BudgetRow, status: BudgetStatus, kind: AlertKind, thresholdPct: number, occurredAt: string): AlertCandidate {
  const id = randomUUID();
  const payload = JSON.stringify({
    id,
    type: TYPE[kind],
    org_slug: orgSlug,
    budget: { id: budget.id, name: budget.name, amount_usd: usdForApi(parseUsd(budget.amount_usd)), period: budget.period },
    period_start: status.period_start,
    threshold_pct: thresholdPct,
    spent_usd: usdForApi(status.spent),
    forecast_usd: usdForApi(status.forecast),
    occurred_at: occurredAt,
  });
  return { id, budgetId: budget.id, periodStart: status.period_start, kind, thresholdPct, webhookUrl: budget.webhook_url, payload };
}

/**
 * Raises the candidates that were never raised, in one statement: the unique key
 * (budget, period, threshold, kind) turns a second raise — a redelivered message, a
 * concurrent evaluation, tomorrow's pass — into nothing. Returns the ids this call created.
 */
export async function raiseAlerts(db: Db, orgId: string, candidates: readonly AlertCandidate[]): Promise<string[]> {
  if (candidates.length === 0) return [];
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO budget_alerts (id, org_id, budget_id, period_start, kind, threshold_pct, webhook_url, payload)
     SELECT c.id, $1, c.budget_id, c.period_start, c.kind, c.threshold_pct, c.webhook_url, c.payload
       FROM unnest($2::uuid[], $3::uuid[], $4::date[], $5::text[], $6::integer[], $7::text[], $8::text[])
            AS c(id, budget_id, period_start, kind, threshold_pct, webhook_url, payload)
     ON CONFLICT (budget_id, period_start, threshold_pct, kind) DO NOTHING
     RETURNING id`,
    [
      orgId,
      candidates.map((c) => c.id),
      candidates.map((c) => c.budgetId),
      candidates.map((c) => c.periodStart),
      candidates.map((c) => c.kind),
      candidates.map((c) => c.thresholdPct),
      candidates.map((c) => c.webhookUrl),
      candidates.map((c) => c.payload),
    ],
  );
  return rows.map((r) => r.id);
}

import { BUDGET_COLUMNS, budgetStatus, budgetTerms, spendWindow, type BudgetRow } from '../../shared/budgets/index.js';
import { getDb } from '../../shared/db/index.js';
import { log } from '../../shared/log/index.js';
import { loadDailySpend, utcDay } from '../../shared/spend/index.js';
import type { AlertsConfig } from './config.js';
import { publishPendingAlerts } from './publishAlerts.js';
import { alertCandidate, raiseAlerts, type AlertCandidate } from './raiseAlerts.js';

/** What one evaluation of an org did. */
export interface Evaluation {
  budgets: number;
  raised: number;
  published: number;
}

/**
 * Evaluates every budget of one org on `today`: its spend window is loaded once (one
 * BigQuery statement, whatever the number of budgets), each budget's status computed from
 * it, every alert it calls for raised (exactly once, by the unique key), then whatever of
 * the org's alerts is waiting is handed to delivery. Safe to run any number of times, at
 * once or again: a repeat raises nothing new and publishes nothing twice.
 */
export async function evaluateOrg(orgSlug: string, config: AlertsConfig, today: string = utcDay()): Promise<Evaluation> {
  const db = await getDb();
  const { rows: orgs } = await db.query<{ id: string }>(`SELECT id FROM orgs WHERE org_slug = $1 AND status = 'active'`, [orgSlug]);
  const orgId = orgs[0]?.id;
  if (orgId === undefined) {
    log.warn('No active org by this slug; nothing to evaluate', { org_slug: orgSlug });
    return { budgets: 0, raised: 0, published: 0 };
  }
  const { rows: budgets } = await db.query<BudgetRow>(`SELECT ${BUDGET_COLUMNS} FROM budgets WHERE org_id = $1 ORDER BY id`, [orgId]);
  let raised: string[] = [];
  if (budgets.length > 0) {
    const { from, to } = spendWindow(budgets.map((b) => b.period), today);
    const lines = await loadDailySpend({ orgId, orgSlug }, from, to);
    const occurredAt = new Date().toISOString();
    const candidates: AlertCandidate[] = [];
    for (const budget of budgets) {
      const status = budgetStatus(budgetTerms(budget), lines, today);
      for (const pct of status.crossed_pct) candidates.push(alertCandidate(orgSlug, budget, status, 'threshold', pct, occurredAt));
      if (status.forecast_exceeded) candidates.push(alertCandidate(orgSlug, budget, status, 'forecast', 100, occurredAt));
    }
    raised = await raiseAlerts(db, orgId, candidates);
    if (raised.length > 0) log.info('Raised budget alerts', { org_slug: orgSlug, raised: raised.length, alert_ids: raised });
  }
  const published = await publishPendingAlerts(db, { orgId, orgSlug }, config.ALERT_REPUBLISH_AFTER_MS);
  return { budgets: budgets.length, raised: raised.length, published };
}

import { loadDailySpend, utcDay, type SpendOwner } from '../spend/index.js';
import { budgetStatus, spendWindow, type BudgetStatus, type BudgetTerms } from './status.js';

/** Where one budget stands today (`GET /v1/budgets/{id}/status`): the spend of its window, then {@link budgetStatus}. */
export async function loadBudgetStatus(owner: SpendOwner, terms: BudgetTerms, today: string = utcDay()): Promise<BudgetStatus> {
  const { from, to } = spendWindow([terms.period], today);
  return budgetStatus(terms, await loadDailySpend(owner, from, to), today);
}

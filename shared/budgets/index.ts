/**
 * Budgets, shared by the `budgets` function (CRUD, status) and `budget-alerts` (evaluation,
 * delivery): periods, scopes, where a budget stands, the stored row, the topics and
 * messages, the org's webhook signing secret.
 */
export { BUDGET_PERIODS, periodOf, type BudgetPeriod } from './periods.js';
export { inScope, type BudgetScope } from './scope.js';
export { budgetStatus, spendWindow, TRAILING_DAYS, type BudgetStatus, type BudgetTerms } from './status.js';
export { BUDGET_COLUMNS, budgetTerms, budgetView, type BudgetRow, type BudgetView } from './budgetRow.js';
export {
  ALERT_DELIVERIES_DEAD_LETTER_TOPIC,
  ALERT_DELIVERIES_TOPIC,
  alertDeliveryMessage,
  USAGE_UPDATED_DEAD_LETTER_TOPIC,
  USAGE_UPDATED_TOPIC,
  usageUpdatedMessage,
  type AlertDeliveryMessage,
  type UsageUpdatedMessage,
} from './messages.js';
export { publishUsageUpdated } from './publishUsageUpdated.js';
export { rotateSigningSecret, signingSecretOf } from './signingSecret.js';
export { loadBudgetStatus } from './loadBudgetStatus.js';

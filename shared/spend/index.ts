/**
 * What an org spends beyond what BigQuery holds: SaaS subscriptions accrue per day, computed
 * at read time from PostgreSQL. Shared because `/v1/costs`, its export and the budgets all
 * count it, and a function never imports another.
 */
export { accrue, accrueDailyByPlan, type AccrualKey, type AccruingSubscription, type DailyPlanAccrual } from './saasAccrual.js';
export { loadAccruingSubscriptions } from './saasStore.js';
export { loadDailySpend, type SpendLine, type SpendOwner } from './dailySpend.js';
export { addDays, dayIndex, utcDay } from './days.js';

/** Per-invocation deadlines and timeout tiers (guarantee 3). */
export { TIERS, TIER_NAMES, DEFAULT_SAFETY_MARGIN_MS, type Tier } from './constants.js';
export { Deadline, budgetMs, currentDeadline, now, raceSignal, runWithDeadline, withBudget, type Budget } from './Deadline.js';

/**
 * The usage model every part of CloudAct shares: the token classes (each priced apart), the
 * service tiers, one day's usage row at the provider's grain and the provider's billed
 * figure. Provider adapters produce it, the demo generator imitates it, pricing prices it,
 * analytics stores it.
 */
export { INPUT_CLASSES, OUTPUT_CLASSES, sumClasses, TOKEN_CLASSES, tokenCounts, type TokenClass, type TokenCounts } from './tokenClasses.js';
export { isServiceTier, SERVICE_TIERS, type ServiceTier } from './serviceTiers.js';
export type { BilledRow, UsageFetch, UsageRow } from './UsageRow.js';

/**
 * LLM prices: the shipped catalogue of list prices (data in `catalogueEntries.ts`, each
 * entry citing its page and date), the resolution of the price in force for a usage row
 * (org entries over the catalogue, exact over snapshots, effective-dated, tier multipliers),
 * and the exact pricing of usage, class by class.
 */
export { catalogueEntries, MULTIPLIER_SCALE, PRICE_SCALE, tierMultiplier } from './catalogue.js';
export { modelMatches } from './modelMatches.js';
export { PRICE_CLASSES, priceEntryId, type MatchMode, type PriceClass, type PriceEntry, type PricesPerMtok } from './PriceEntry.js';
export { isResolved, resolvePrice, type ResolvedPrice, type Unresolved, type UsageKey } from './resolvePrice.js';
export { PRICE_CLASS_OF, priceUsage, type PricedUsage, type PricedUsageRow } from './priceUsage.js';
export { loadOrgPriceEntries, ORG_PRICE_COLUMNS, orgPriceEntry, type OrgPriceRow } from './orgPriceEntries.js';

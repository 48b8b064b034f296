/**
 * LLM providers as the runtime knows them: the provider name rule (`providerName.ts`),
 * where each provider's API is (`baseUrl.ts`), and what the pipeline worker needs to pull
 * one org's day of usage (`demo`, OpenAI, Anthropic), price it with the org's pricing
 * table, and tell whether a failed pull is worth retrying. Shared because the integrations
 * function validates credentials against these APIs and the pipeline worker pulls usage
 * from them — and a function never imports another.
 */
export { baseUrlVariable, providerBaseUrl } from './baseUrl.js';
export { PROVIDER_PATTERN, providerName } from './providerName.js';
export { USAGE_PROVIDERS, isUsageProvider, type UsageFetch, type UsageProvider, type UsageRow } from './UsageRow.js';
export { fetchUsage, type FetchUsageOptions } from './fetchUsage.js';
export type { RetryOptions } from './getJson.js';
export { ProviderCredentialError, ProviderResponseError } from './errors.js';
export { DEMO_MODELS, DEMO_PROVIDERS, demoUsageForDay, type DemoModel } from './demo.js';
export { ANTHROPIC_VERSION } from './anthropic.js';
export { pricingKey, priceRows, type ModelPrice, type PricedRow, type PricingTable } from './priceRows.js';
export { loadPricing, type Queryable } from './loadPricing.js';
export { mulberry32 } from './mulberry32.js';

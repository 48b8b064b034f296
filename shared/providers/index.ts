/**
 * LLM providers as the runtime knows them: the provider name rule, where each provider's
 * API is, and one day of an org's usage and bill from a provider's Admin API
 * (`fetchUsage`: OpenAI organization usage and costs, Anthropic usage and cost report),
 * with errors that say whether a failed pull is worth retrying. Shared because the
 * integrations function validates credentials against these APIs and the pipeline worker
 * pulls usage from them — and a function never imports another.
 */
export { baseUrlVariable, providerBaseUrl } from './baseUrl.js';
export { PROVIDER_PATTERN, providerName } from './providerName.js';
export { USAGE_PROVIDERS, isUsageProvider, type UsageProvider } from './usageProviders.js';
export { fetchUsage, type FetchUsageOptions } from './fetchUsage.js';
export type { RetryOptions } from './getJson.js';
export { ProviderCredentialError, ProviderResponseError } from './errors.js';
export { ANTHROPIC_VERSION } from './constants.js';

/**
 * LLM providers as the runtime knows them: the provider name rule (`providerName.ts`) and
 * where each provider's API is (`baseUrl.ts`).
 * Shared because the integrations function validates credentials against it and the
 * pipeline worker pulls usage from it — and a function never imports another.
 */
export { baseUrlVariable, providerBaseUrl } from './baseUrl.js';
export { PROVIDER_PATTERN, providerName } from './providerName.js';

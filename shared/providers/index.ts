/**
 * LLM providers as the runtime reaches them: where each provider's API is (`baseUrl.ts`).
 * Shared because the integrations function validates credentials against it and the
 * pipeline worker pulls usage from it — and a function never imports another.
 */
export { baseUrlVariable, providerBaseUrl } from './baseUrl.js';

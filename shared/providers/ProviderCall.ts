import { ProviderCredentialError } from './errors.js';
import type { RetryOptions } from './getJson.js';
import type { UsageDay } from './usageDay.js';

/** Everything one provider adapter needs for one org's day, inside a budget already granted. */
export interface ProviderCall {
  day: UsageDay;
  credential: string;
  baseUrl: URL;
  /** Aborts when the fetch's one `integration` budget (or the caller) gives up. */
  signal: AbortSignal;
  /** Milliseconds left in that budget, for every request and every backoff of the fetch. */
  remainingMs: () => number;
  fetchImpl: typeof fetch;
  retry: RetryOptions | undefined;
  /** Pages followed per endpoint. */
  maxPages: number;
}

/** Visible ASCII only: anything else cannot go into an HTTP header (fetch would throw). */
const HEADER_SAFE = /^[\x21-\x7e]+$/;

/** The stored credential, or a permanent error when there is none usable. */
export function requireCredential(provider: string, credential: string | undefined): string {
  if (credential === undefined || credential === '') {
    throw new ProviderCredentialError(provider, `No ${provider} admin key is stored; store one with PUT /v1/integrations/${provider}`);
  }
  if (!HEADER_SAFE.test(credential)) {
    throw new ProviderCredentialError(provider, `The stored ${provider} admin key is not a printable token; store a valid key with PUT /v1/integrations/${provider}`);
  }
  return credential;
}

/** `{base}{path}`, keeping a path prefix the base URL may carry (e.g. a proxy's `/openai`). */
export function endpoint(baseUrl: URL, path: string): URL {
  return new URL(`${baseUrl.pathname.replace(/\/+$/, '')}${path}`, baseUrl);
}

import { withBudget } from '../deadline/index.js';
import { InternalError, InvalidArgumentError } from '../errors/index.js';
import type { UsageFetch } from '../usage/index.js';
import { fetchAnthropic } from './anthropic.js';
import { DEFAULT_MAX_PAGES } from './constants.js';
import type { RetryOptions } from './getJson.js';
import { fetchOpenAi } from './openai.js';
import { requireCredential, type ProviderCall } from './ProviderCall.js';
import { usageDay } from './usageDay.js';
import type { UsageProvider } from './usageProviders.js';

export interface FetchUsageOptions {
  /** A provider with a usage API; the demo pipeline makes its data itself (`shared/demo`). */
  provider: Exclude<UsageProvider, 'demo'>;
  /** The UTC day, `YYYY-MM-DD`. */
  date: string;
  /** The org's stored admin key (decrypted). */
  credential?: string;
  /** Where the provider's API lives (`providerBaseUrl(provider)`). */
  baseUrl?: URL;
  /**
   * The caller's own cancellation (e.g. the invocation's deadline or shutdown), observed
   * on top of the integration budget.
   */
  signal?: AbortSignal;
  /** @default globalThis.fetch */
  fetchImpl?: typeof fetch;
  /** Retries of each request; see {@link RetryOptions} for the defaults. */
  retry?: RetryOptions;
  /** Pages followed per endpoint before the answer counts as malformed. @default 50 */
  maxPages?: number;
}

const FETCHERS: Readonly<Record<FetchUsageOptions['provider'], (call: ProviderCall) => Promise<UsageFetch>>> = { openai: fetchOpenAi, anthropic: fetchAnthropic };

/**
 * Pulls one org's usage of one UTC day from `provider` at the grain the provider reports
 * it (model as reported, service tier, project or workspace, API key; every token class
 * apart), and the provider's own bill for the day beside it — `billed: null` when the
 * provider has no costs endpoint there (it answered 404).
 *
 * Every request — each endpoint's pages, the costs pages, every retry and backoff — runs
 * under ONE `integration` budget: `min(60 s, time left in the invocation)`, so a fetch
 * of several endpoints can never take longer than one.
 *
 * Failures, for the worker to act on with `error.retryable`:
 * - credential missing or rejected (401/403) → `ProviderCredentialError` (permanent, safe message);
 * - malformed answer (not the documented shape, a bucket outside the day, token fields that
 *   contradict each other, a currency other than USD), other 4xx, page loop →
 *   `ProviderResponseError` (permanent, safe message);
 * - 429/5xx/unreachable after the bounded retries → `UnavailableError` (retryable);
 * - budget spent or `signal` aborted → `DeadlineExceededError` (retryable);
 * - `demo` or an unknown provider, a date that is not valid → `InvalidArgumentError` (permanent: bad payload).
 */
export async function fetchUsage(options: FetchUsageOptions): Promise<UsageFetch> {
  const { provider, date, credential, baseUrl, signal, fetchImpl = fetch, retry, maxPages = DEFAULT_MAX_PAGES } = options;
  // The type says openai | anthropic; a payload parsed without isUsageProvider may say anything.
  const fetcher = Object.hasOwn(FETCHERS, provider) ? FETCHERS[provider] : undefined;
  if (fetcher === undefined) {
    throw new InvalidArgumentError('Unknown usage provider', [{ path: 'provider', message: `no provider usage API is read for ${JSON.stringify(provider)}` }]);
  }
  const day = usageDay(date);
  const key = requireCredential(provider, credential);
  if (baseUrl === undefined) throw new InternalError(`No base URL is configured for ${provider}`);
  return withBudget('integration', async (budget) =>
    fetcher({
      day,
      credential: key,
      baseUrl,
      signal: signal === undefined ? budget.signal : AbortSignal.any([budget.signal, signal]),
      remainingMs: () => budget.remainingMs(),
      fetchImpl,
      retry,
      maxPages,
    }),
  );
}

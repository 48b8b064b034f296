import { withBudget } from '../deadline/index.js';
import { InternalError, InvalidArgumentError } from '../errors/index.js';
import { fetchAnthropicUsage } from './anthropic.js';
import { DEFAULT_MAX_PAGES } from './constants.js';
import { DEMO_PROVIDERS, demoUsageForDay } from './demo.js';
import type { RetryOptions } from './getJson.js';
import { fetchOpenAiUsage } from './openai.js';
import { requireCredential, type ProviderCall } from './ProviderCall.js';
import { usageDay } from './usageDay.js';
import type { UsageFetch, UsageProvider, UsageRow } from './UsageRow.js';

export interface FetchUsageOptions {
  provider: UsageProvider;
  orgSlug: string;
  /** The UTC day, `YYYY-MM-DD`. */
  date: string;
  /** The org's stored admin key (decrypted); required for `openai` and `anthropic`. */
  credential?: string;
  /** Where the provider's API lives (`providerBaseUrl(provider)`); required for `openai` and `anthropic`. */
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
  /** Pages followed before the answer counts as malformed. @default 50 */
  maxPages?: number;
}

const FETCHERS = { openai: fetchOpenAiUsage, anthropic: fetchAnthropicUsage } as const;

/**
 * Pulls one org's usage of one UTC day from `provider`, one row per (provider, model),
 * and says which providers' rows of the day it replaces (`providersCovered`, see
 * {@link UsageFetch}: the worker deletes exactly those before inserting `rows`).
 *
 * - `demo`: {@link demoUsageForDay} — deterministic from org and date, offline, no budget
 *   needed; rows carry the demo catalogue's real provider names.
 * - `openai` / `anthropic`: the provider's organization usage API at `baseUrl` with the
 *   org's admin key, every page, the whole fetch (pages and retries) under one
 *   `integration` budget: `min(60 s, time left in the invocation)`.
 *
 * Failures, for the worker to act on with `error.retryable`:
 * - credential missing or rejected (401/403) → `ProviderCredentialError` (permanent, safe message);
 * - malformed answer, other 4xx, page loop → `ProviderResponseError` (permanent, safe message);
 * - 429/5xx/unreachable after the bounded retries → `UnavailableError` (retryable);
 * - budget spent or `signal` aborted → `DeadlineExceededError` (retryable);
 * - an unknown provider, a date or slug that is not valid → `InvalidArgumentError` (permanent: bad payload).
 */
export async function fetchUsage(options: FetchUsageOptions): Promise<UsageFetch> {
  const { provider, orgSlug, date, credential, baseUrl, signal, fetchImpl = fetch, retry, maxPages = DEFAULT_MAX_PAGES } = options;
  const day = usageDay(date);
  if (provider === 'demo') return { rows: demoUsageForDay({ orgSlug, date }), providersCovered: DEMO_PROVIDERS };
  // The type says openai | anthropic; a payload parsed without isUsageProvider may say anything.
  const fetcher = (FETCHERS as Partial<Record<string, (call: ProviderCall) => Promise<UsageRow[]>>>)[provider];
  if (fetcher === undefined) {
    throw new InvalidArgumentError('Unknown usage provider', [{ path: 'provider', message: `no usage pipeline exists for ${JSON.stringify(provider)}` }]);
  }
  const key = requireCredential(provider, credential);
  if (baseUrl === undefined) throw new InternalError(`No base URL is configured for ${provider}`);
  return withBudget('integration', async (budget) => {
    const call: ProviderCall = {
      day,
      credential: key,
      baseUrl,
      signal: signal === undefined ? budget.signal : AbortSignal.any([budget.signal, signal]),
      remainingMs: () => budget.remainingMs(),
      fetchImpl,
      retry,
      maxPages,
    };
    return { rows: await fetcher(call), providersCovered: [provider] };
  });
}

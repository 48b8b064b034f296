import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlineExceededError, UnavailableError, isAppError } from '../errors/index.js';
import { log } from '../log/index.js';
import { DEFAULT_BASE_DELAY_MS, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_DELAY_MS, MAX_RESPONSE_BYTES, MAX_RETRY_AFTER_SECONDS } from './constants.js';
import { ProviderCredentialError, ProviderResponseError } from './errors.js';

/** Bounded retries of one provider request (429, 5xx, network errors). */
export interface RetryOptions {
  /** Tries per request, the first included. @default 4 */
  maxAttempts?: number;
  /** First backoff delay, doubled per retry, full jitter. @default 250 */
  baseDelayMs?: number;
  /** Largest backoff delay. @default 4000 */
  maxDelayMs?: number;
}

/** What {@link getJson} answers for a 404 when the caller said the endpoint may be absent. */
export const ABSENT: unique symbol = Symbol('ABSENT');

/** One GET to a provider, inside a budget the caller owns. */
export interface ProviderGet {
  provider: string;
  /** Which of the provider's APIs this is, for messages: `usage API`, `costs API`. */
  api: string;
  url: URL;
  headers: Record<string, string>;
  /** Aborts when the budget (or the caller) gives up; every wait observes it. */
  signal: AbortSignal;
  /** Milliseconds left in the budget: a backoff that would outlast it is not started. */
  remainingMs: () => number;
  fetchImpl: typeof fetch;
  retry?: RetryOptions;
  /**
   * What a 404 means: `error` (the endpoint must exist: a malformed answer) or `absent`
   * (the provider may not offer this endpoint, e.g. a costs API: answer {@link ABSENT}).
   * @default 'error'
   */
  notFound?: 'error' | 'absent';
}

/** Statuses worth a second try: the same request may succeed in a moment. */
function isTransient(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** `Retry-After` in seconds (delta-seconds or an HTTP date); undefined when absent or unreadable. */
function retryAfterSeconds(header: string | null): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** Reads at most `max` bytes of the body; more is a malformed answer, not an out-of-memory. */
async function readCapped(response: Response, provider: string, api: string, max: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > max) {
    await response.body?.cancel().catch(() => undefined);
    throw new ProviderResponseError(provider, `The ${provider} ${api} answered a body larger than ${max} bytes`);
  }
  if (response.body === null) return '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      throw new ProviderResponseError(provider, `The ${provider} ${api} answered a body larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * GETs `url` and parses its JSON body, retrying transient failures (429, 408, 5xx,
 * network errors) with exponential backoff and full jitter, at most `maxAttempts` tries,
 * and never waiting past the budget: a `Retry-After` up to
 * {@link MAX_RETRY_AFTER_SECONDS} is honoured; a longer one, or a backoff that would not
 * end before the budget does, ends the retries at once.
 *
 * Classification (what the pipeline worker acts on, through `error.retryable`):
 * - 2xx with a JSON body → the parsed body;
 * - 404 with `notFound: 'absent'` → {@link ABSENT};
 * - 401/403 → {@link ProviderCredentialError} (permanent);
 * - 3xx, other 4xx, a body that is not JSON or too large → {@link ProviderResponseError} (permanent);
 * - transient failures left after the retries → `UnavailableError` (retryable; `retryAfterSeconds`
 *   is the provider's `Retry-After` when it gave one);
 * - the budget's signal aborting → its reason (`DeadlineExceededError` from `withBudget`), or
 *   `DeadlineExceededError` when the abort reason is not one of ours.
 *
 * No message built here carries the credential, the URL's query or the provider's body;
 * redirects are not followed (one would carry the credential to a host nobody configured).
 */
export async function getJson({ provider, api, url, headers, signal, remainingMs, fetchImpl, retry = {}, notFound = 'error' }: ProviderGet): Promise<unknown> {
  const { maxAttempts = DEFAULT_MAX_ATTEMPTS, baseDelayMs = DEFAULT_BASE_DELAY_MS, maxDelayMs = DEFAULT_MAX_DELAY_MS } = retry;
  const where = { provider, api, host: url.host, path: url.pathname };
  for (let attempt = 1; ; attempt += 1) {
    let failure: { status?: number; retryAfter?: number; cause?: unknown };
    try {
      const response = await fetchImpl(url, { headers, signal, redirect: 'manual' });
      const { status } = response;
      if (status >= 200 && status < 300) {
        const text = await readCapped(response, provider, api, MAX_RESPONSE_BYTES);
        try {
          return JSON.parse(text) as unknown;
        } catch {
          // No cause: V8's SyntaxError quotes a piece of the body, which is the provider's text.
          throw new ProviderResponseError(provider, `The ${provider} ${api} answered a body that is not JSON`);
        }
      }
      // Free the socket; the body of a failure is never shown (it may echo the key).
      await response.body?.cancel().catch(() => undefined);
      if (status === 404 && notFound === 'absent') return ABSENT;
      if (status === 401 || status === 403) {
        throw new ProviderCredentialError(provider, `The ${provider} admin key was rejected (HTTP ${status}); store a valid key with PUT /v1/integrations/${provider}`);
      }
      if (!isTransient(status)) {
        throw new ProviderResponseError(provider, `The ${provider} ${api} answered HTTP ${status}`);
      }
      failure = { status, retryAfter: retryAfterSeconds(response.headers.get('retry-after')) };
    } catch (error) {
      if (signal.aborted) throw abortError(signal, error);
      if (isAppError(error)) throw error;
      failure = { cause: error };
    }

    const what = failure.status === undefined ? 'could not be reached' : `answered HTTP ${failure.status}`;
    const giveUp = (reason: string): UnavailableError => {
      log.warn('A provider request failed; giving up', { ...where, status: failure.status, attempt, reason, err: failure.cause });
      return new UnavailableError(`The ${provider} ${api} ${what} (${attempt} ${attempt === 1 ? 'try' : 'tries'}); retry later`, {
        retryAfterSeconds: failure.retryAfter,
        cause: failure.cause,
      });
    };
    if (attempt >= maxAttempts) throw giveUp('attempts exhausted');
    if (failure.retryAfter !== undefined && failure.retryAfter > MAX_RETRY_AFTER_SECONDS) throw giveUp('Retry-After too long');
    const backoff = Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    const delayMs = failure.retryAfter === undefined ? backoff : failure.retryAfter * 1000;
    if (delayMs >= remainingMs()) throw giveUp('budget too short to wait');
    log.warn('A provider request failed; retrying', { ...where, status: failure.status, attempt, delay_ms: Math.round(delayMs), err: failure.cause });
    try {
      await sleep(delayMs, undefined, { signal });
    } catch (error) {
      throw abortError(signal, error);
    }
  }
}

/** The error to surface when `signal` aborted a request or a wait. */
function abortError(signal: AbortSignal, cause: unknown): Error {
  const reason: unknown = signal.reason;
  if (isAppError(reason)) return reason;
  return new DeadlineExceededError('The provider request was cancelled', cause);
}

/** How many times one provider request is tried before the fetch gives up. @default 4 */
export const DEFAULT_MAX_ATTEMPTS = 4;
/** First backoff delay; doubled per retry, with full jitter. @default 250 */
export const DEFAULT_BASE_DELAY_MS = 250;
/** Largest single backoff delay. @default 4000 */
export const DEFAULT_MAX_DELAY_MS = 4000;
/**
 * Largest `Retry-After` honoured, in seconds. A provider asking for longer is not waited
 * for inside the integration budget: the fetch fails `UNAVAILABLE` and the pipeline's own
 * retry (Pub/Sub backoff) comes back later. @default 10
 */
export const MAX_RETRY_AFTER_SECONDS = 10;
/**
 * Pages followed per endpoint read. One day is one bucket and normally one page; the cap
 * only stops a provider whose cursor never ends. @default 50
 */
export const DEFAULT_MAX_PAGES = 50;
/**
 * Buckets asked for per page (`limit`); one day needs one. 31 is the largest value every
 * endpoint we read accepts for `1d` buckets (OpenAI usage and Anthropic usage and cost
 * report: max 31; OpenAI costs: max 180). @default 31
 */
export const PAGE_LIMIT = 31;
/** Largest response body read; a bigger one is a malformed answer. @default 8 MiB */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
/**
 * The Anthropic API version whose response shapes the adapter reads; sent as
 * `anthropic-version` on every Anthropic request (the Admin API requires it).
 */
export const ANTHROPIC_VERSION = '2023-06-01';

import { z } from 'zod';
import { PAGE_LIMIT } from './constants.js';
import { ProviderResponseError } from './errors.js';
import { followPages } from './followPages.js';
import { getJson } from './getJson.js';
import { endpoint, type ProviderCall } from './ProviderCall.js';
import { addUsage } from './usageDay.js';
import type { UsageRow } from './UsageRow.js';

const PROVIDER = 'anthropic';
/** The API version whose response shape this parser reads. */
export const ANTHROPIC_VERSION = '2023-06-01';
const count = z.number().int().nonnegative();

/** The parts of `GET /v1/organizations/usage_report/messages` we read; unknown fields are ignored. */
const AnthropicUsagePage = z.object({
  data: z.array(
    z.object({
      starting_at: z.string(),
      ending_at: z.string(),
      results: z.array(
        z.object({
          uncached_input_tokens: count,
          cache_read_input_tokens: count.optional(),
          cache_creation: z
            .object({ ephemeral_1h_input_tokens: count.optional(), ephemeral_5m_input_tokens: count.optional() })
            .nullable()
            .optional(),
          output_tokens: count,
          model: z.string().nullable().optional(),
        }),
      ),
    }),
  ),
  has_more: z.boolean(),
  next_page: z.string().nullable().optional(),
});

/**
 * One UTC day of an Anthropic organization's Messages usage, per model, from the Usage &
 * Cost Admin API (`GET {base}/v1/organizations/usage_report/messages`, admin key as
 * `x-api-key`, `anthropic-version: 2023-06-01`), one `1d` bucket grouped by `model`,
 * following `next_page` while `has_more`.
 *
 * - `input_tokens` = `uncached_input_tokens` + `cache_read_input_tokens` +
 *   `cache_creation.ephemeral_5m_input_tokens` + `cache_creation.ephemeral_1h_input_tokens`:
 *   every prompt token the model processed, the same meaning as OpenAI's `input_tokens`
 *   (which includes cached tokens). The pricing table has one input price per model, so
 *   cache reads (cheaper) and cache writes (dearer) are priced at that one rate.
 * - `requests` is 0: the usage report has no request count (it is token-based only);
 *   0 means "not reported", and the costs API sums it as such.
 * - Results are summed per model over every bucket and page; a bucket that does not start
 *   at the requested day's midnight is a malformed answer; a result without a model is
 *   counted under `unknown` (never priced, so it shows in `unpriced_rows`).
 */
export async function fetchAnthropicUsage(call: ProviderCall): Promise<UsageRow[]> {
  const { day, credential, baseUrl, signal, remainingMs, fetchImpl, retry, maxPages } = call;
  const totals = new Map<string, { requests: number; input_tokens: number; output_tokens: number }>();
  await followPages(PROVIDER, maxPages, async (cursor) => {
    const url = endpoint(baseUrl, '/v1/organizations/usage_report/messages');
    url.searchParams.set('starting_at', new Date(day.startMs).toISOString().replace('.000Z', 'Z'));
    url.searchParams.set('ending_at', new Date(day.endMs).toISOString().replace('.000Z', 'Z'));
    url.searchParams.set('bucket_width', '1d');
    url.searchParams.append('group_by[]', 'model');
    url.searchParams.set('limit', String(PAGE_LIMIT));
    if (cursor !== undefined) url.searchParams.set('page', cursor);
    const body = await getJson({
      provider: PROVIDER,
      url,
      headers: { 'x-api-key': credential, 'anthropic-version': ANTHROPIC_VERSION, accept: 'application/json' },
      signal,
      remainingMs,
      fetchImpl,
      retry,
    });
    const parsed = AnthropicUsagePage.safeParse(body);
    if (!parsed.success) {
      throw new ProviderResponseError(PROVIDER, `The ${PROVIDER} usage API answered a page that is not the documented shape (${parsed.error.issues[0]?.path.map(String).join('.') ?? 'body'})`, parsed.error);
    }
    for (const bucket of parsed.data.data) {
      if (Date.parse(bucket.starting_at) !== day.startMs) {
        throw new ProviderResponseError(PROVIDER, `The ${PROVIDER} usage API answered a bucket outside the requested day`);
      }
      for (const result of bucket.results) {
        const input =
          result.uncached_input_tokens +
          (result.cache_read_input_tokens ?? 0) +
          (result.cache_creation?.ephemeral_5m_input_tokens ?? 0) +
          (result.cache_creation?.ephemeral_1h_input_tokens ?? 0);
        addUsage(PROVIDER, totals, result.model ?? 'unknown', { requests: 0, input_tokens: input, output_tokens: result.output_tokens });
      }
    }
    return { hasMore: parsed.data.has_more, nextPage: parsed.data.next_page };
  });
  return [...totals].map(([model, usage]) => ({ usage_date: day.date, provider: PROVIDER, model, ...usage }));
}

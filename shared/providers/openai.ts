import { z } from 'zod';
import { PAGE_LIMIT } from './constants.js';
import { ProviderResponseError } from './errors.js';
import { followPages } from './followPages.js';
import { getJson } from './getJson.js';
import { endpoint, type ProviderCall } from './ProviderCall.js';
import { addUsage } from './usageDay.js';
import type { UsageRow } from './UsageRow.js';

const PROVIDER = 'openai';
const count = z.number().int().nonnegative();

/**
 * The parts of `GET /v1/organization/usage/completions` we read. Unknown fields are
 * ignored (the API adds fields); the ones we read must have the documented types.
 */
const OpenAiUsagePage = z.object({
  object: z.literal('page'),
  data: z.array(
    z.object({
      object: z.literal('bucket'),
      start_time: z.number().int(),
      end_time: z.number().int(),
      results: z.array(
        z.object({
          object: z.literal('organization.usage.completions.result'),
          input_tokens: count,
          output_tokens: count,
          num_model_requests: count,
          model: z.string().nullable().optional(),
        }),
      ),
    }),
  ),
  has_more: z.boolean(),
  next_page: z.string().nullable().optional(),
});

/**
 * One UTC day of an OpenAI organization's completions usage, per model, from the
 * Organization Usage API (`GET {base}/v1/organization/usage/completions`, admin key as
 * `Authorization: Bearer`), one `1d` bucket grouped by `model`, following `next_page`
 * while `has_more`.
 *
 * - `input_tokens` is OpenAI's `input_tokens`, which already includes `input_cached_tokens`
 *   (cached tokens are a subset, not an addition); `requests` is `num_model_requests`.
 * - Results are summed per model over every bucket and page, so a day split across pages
 *   (or a provider that returns the same bucket on several pages) yields one row per model.
 * - A bucket that does not start at the requested day's midnight is a malformed answer
 *   (we asked for exactly that day): it is neither dropped nor counted.
 * - A result without a model (not grouped) is counted under `unknown`, which no pricing
 *   row matches, so it shows up in `unpriced_rows` instead of vanishing.
 */
export async function fetchOpenAiUsage(call: ProviderCall): Promise<UsageRow[]> {
  const { day, credential, baseUrl, signal, remainingMs, fetchImpl, retry, maxPages } = call;
  const start = day.startMs / 1000;
  const totals = new Map<string, { requests: number; input_tokens: number; output_tokens: number }>();
  await followPages(PROVIDER, maxPages, async (cursor) => {
    const url = endpoint(baseUrl, '/v1/organization/usage/completions');
    url.searchParams.set('start_time', String(start));
    url.searchParams.set('end_time', String(day.endMs / 1000));
    url.searchParams.set('bucket_width', '1d');
    url.searchParams.set('group_by', 'model');
    url.searchParams.set('limit', String(PAGE_LIMIT));
    if (cursor !== undefined) url.searchParams.set('page', cursor);
    const body = await getJson({
      provider: PROVIDER,
      url,
      headers: { authorization: `Bearer ${credential}`, accept: 'application/json' },
      signal,
      remainingMs,
      fetchImpl,
      retry,
    });
    const parsed = OpenAiUsagePage.safeParse(body);
    if (!parsed.success) {
      throw new ProviderResponseError(PROVIDER, `The ${PROVIDER} usage API answered a page that is not the documented shape (${parsed.error.issues[0]?.path.map(String).join('.') ?? 'body'})`, parsed.error);
    }
    for (const bucket of parsed.data.data) {
      if (bucket.start_time !== start) {
        throw new ProviderResponseError(PROVIDER, `The ${PROVIDER} usage API answered a bucket outside the requested day`);
      }
      for (const result of bucket.results) {
        addUsage(PROVIDER, totals, result.model ?? 'unknown', {
          requests: result.num_model_requests,
          input_tokens: result.input_tokens,
          output_tokens: result.output_tokens,
        });
      }
    }
    return { hasMore: parsed.data.has_more, nextPage: parsed.data.next_page };
  });
  return [...totals].map(([model, usage]) => ({ usage_date: day.date, provider: PROVIDER, model, ...usage }));
}

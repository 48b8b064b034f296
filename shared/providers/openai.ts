import * as z from 'zod';
import { parseUsd } from '../money/index.js';
import { INPUT_CLASSES, sumClasses, tokenCounts, type TokenCounts, type UsageFetch } from '../usage/index.js';
import { BilledTotals } from './BilledTotals.js';
import { ProviderResponseError } from './errors.js';
import type { ProviderCall } from './ProviderCall.js';
import { readBuckets, type BucketPage, type Dialect } from './readBuckets.js';
import { UsageTotals } from './UsageTotals.js';

/*
 * OpenAI's organization Usage and Costs APIs, as `openai/openai-openapi` `openapi.yaml`
 * describes them (commit f85dbe2, 2026-08-21): paths `/organization/usage/completions`,
 * `/organization/usage/embeddings`, `/organization/costs`; schemas `UsageResponse`,
 * `UsageTimeBucket`, `UsageCompletionsResult`, `UsageEmbeddingsResult`, `CostsResult`.
 * Admin key as a bearer token; arrays as repeated parameters (`group_by=a&group_by=b`).
 */

const PROVIDER = 'openai';
const count = z.number().int().nonnegative();
const optionalCount = count.nullish();
const optionalId = z.string().nullish();

const OPENAI: Dialect = {
  provider: PROVIDER,
  headers: (credential) => ({ authorization: `Bearer ${credential}`, accept: 'application/json' }),
  bounds: (params, day) => {
    params.set('start_time', String(day.startMs / 1000));
    params.set('end_time', String(day.endMs / 1000));
    params.set('bucket_width', '1d');
  },
  groupByParam: 'group_by',
  page: <R>(result: z.ZodType<R>): z.ZodType<BucketPage<R>> =>
    z
      .object({
        object: z.literal('page'),
        data: z.array(z.object({ object: z.literal('bucket'), start_time: z.number().int(), end_time: z.number().int(), results: z.array(result) })),
        has_more: z.boolean(),
        next_page: z.string().nullish(),
      })
      .transform((page) => ({ buckets: page.data.map((b) => ({ startMs: b.start_time * 1000, results: b.results })), hasMore: page.has_more, nextPage: page.next_page })),
};

/** `organization.usage.completions.result`: the fields we read, current and older ones. */
const CompletionsResult = z.object({
  object: z.literal('organization.usage.completions.result'),
  input_tokens: count,
  output_tokens: count,
  num_model_requests: count,
  input_cached_tokens: optionalCount,
  input_cache_write_tokens: optionalCount,
  input_uncached_tokens: optionalCount,
  input_text_tokens: optionalCount,
  input_audio_tokens: optionalCount,
  input_image_tokens: optionalCount,
  output_audio_tokens: optionalCount,
  model: optionalId,
  project_id: optionalId,
  api_key_id: optionalId,
  batch: z.boolean().nullish(),
  service_tier: optionalId,
});
type CompletionsResult = z.infer<typeof CompletionsResult>;

/** `organization.usage.embeddings.result`. */
const EmbeddingsResult = z.object({
  object: z.literal('organization.usage.embeddings.result'),
  input_tokens: count,
  num_model_requests: count,
  model: optionalId,
  project_id: optionalId,
  api_key_id: optionalId,
});

/**
 * `organization.costs.result`. The spec makes `amount` optional; a line without one tells
 * us nothing we could show beside our estimate, so it is a malformed answer here.
 */
const CostsResult = z.object({
  object: z.literal('organization.costs.result'),
  amount: z.object({ value: z.number(), currency: z.string() }),
  line_item: optionalId,
  project_id: optionalId,
});

/**
 * OpenAI's tier → ours. `batch: true` wins (a batch job's `service_tier` says how it was
 * scheduled, the price is the batch price); `default` (OpenAI's name for standard, the
 * spec's own example value), `auto` and none are standard; `scale` is the older name of
 * what is priced as priority; a tier we do not know is kept as OpenAI spells it.
 */
function serviceTier(batch: boolean | null | undefined, tier: string | null | undefined): string {
  if (batch === true) return 'batch';
  switch (tier ?? 'default') {
    case 'default':
    case 'auto':
    case 'standard':
      return 'standard';
    case 'flex':
      return 'flex';
    case 'priority':
    case 'scale':
      return 'priority';
    default:
      return tier as string;
  }
}

/** `value`, which must not be negative: a class derived below zero means the answer's fields contradict each other. */
function derived(value: number, what: string): number {
  if (value < 0) throw new ProviderResponseError(PROVIDER, `The ${PROVIDER} usage API answered ${what} below zero: its token fields contradict each other`);
  return value;
}

/**
 * A completions result → disjoint token classes, whichever meaning its fields have.
 *
 * Current fields (the answer carries `input_uncached_tokens`, spec since 2026-07-15,
 * openai-openapi commits 535f5dc / bcb6449): `input_tokens` = uncached + cached + cache
 * writes over text, audio and image; `input_audio_tokens` and `input_image_tokens` are
 * uncached only; `output_tokens` covers text, audio and image. So:
 * input_uncached = `input_text_tokens` (or `input_uncached_tokens` − audio − image when
 * absent), input_cached = `input_cached_tokens`, cache_write_5m = `input_cache_write_tokens`
 * (OpenAI has one cache-write kind), input_audio, input_image as sent, output =
 * `output_tokens` − `output_audio_tokens`. The input classes must add up to `input_tokens`,
 * or the answer contradicts itself and is refused (never a silent over- or under-count).
 * Cached audio and image reads are counted in input_cached (we keep one cached class).
 *
 * Older fields (no `input_uncached_tokens`; the spec before 2026-07-15): `input_tokens` and
 * `input_cached_tokens` were **text** tokens (cached included in `input_tokens`),
 * `input_audio_tokens` all audio input *including cached*, `output_tokens` text output and
 * `output_audio_tokens` audio output beside it. So: input_uncached = `input_tokens` −
 * `input_cached_tokens`, input_cached = `input_cached_tokens`, output = `output_tokens`, and
 * audio is *added*, not subtracted (that is how the old spec defines it; subtracting it
 * would under-count text). Cached audio cannot be told apart in those answers, so all of
 * `input_audio_tokens` is counted as uncached audio: the one place an old answer can
 * overstate (at the audio rate, never silently at the text rate). The classes add up to
 * `input_tokens` + `input_audio_tokens` and `output_tokens` + `output_audio_tokens`.
 *
 * @throws ProviderResponseError when a derived class is negative or the classes do not add up
 */
function completionClasses(r: CompletionsResult): TokenCounts {
  const cached = r.input_cached_tokens ?? 0;
  const audio = r.input_audio_tokens ?? 0;
  const outputAudio = r.output_audio_tokens ?? 0;
  if (r.input_uncached_tokens === null || r.input_uncached_tokens === undefined) {
    return tokenCounts({
      input_uncached: derived(r.input_tokens - cached, 'uncached input (input_tokens − input_cached_tokens)'),
      input_cached: cached,
      input_audio: audio,
      output: r.output_tokens,
      output_audio: outputAudio,
    });
  }
  const image = r.input_image_tokens ?? 0;
  const counts = tokenCounts({
    input_uncached: r.input_text_tokens ?? derived(r.input_uncached_tokens - audio - image, 'uncached text input (input_uncached_tokens − audio − image)'),
    input_cached: cached,
    cache_write_5m: r.input_cache_write_tokens ?? 0,
    input_audio: audio,
    input_image: image,
    output: derived(r.output_tokens - outputAudio, 'text output (output_tokens − output_audio_tokens)'),
    output_audio: outputAudio,
  });
  if (sumClasses(counts, INPUT_CLASSES) !== r.input_tokens) {
    throw new ProviderResponseError(PROVIDER, `The ${PROVIDER} usage API answered input token classes that do not add up to input_tokens`);
  }
  return counts;
}

/**
 * One UTC day of an OpenAI organization, read with the org's admin key:
 *
 * - completions usage (`GET /v1/organization/usage/completions`, grouped by model, project,
 *   API key, batch and service tier): one row per grain, every token class apart (see
 *   {@link completionClasses}), `requests` = `num_model_requests`;
 * - embeddings usage (`GET /v1/organization/usage/embeddings`, grouped by model, project,
 *   API key): `input_tokens` as uncached input at the standard tier;
 * - the bill (`GET /v1/organization/costs`, grouped by project and line item): one row per
 *   line, `amount.value` (a JSON number of dollars) read exactly through `parseUsd`;
 *   amounts in any currency but USD are refused; a 404 → `billed: null` (no figure).
 *
 * Results of the same grain are summed over pages and endpoints; a result without a model
 * is counted under `unknown` (never priced, so it shows as unpriced instead of vanishing).
 * Requests run one after the other: the Admin API is rate-limited per org, and a scripted
 * or real failure then stops the fetch before anything else is asked.
 */
export async function fetchOpenAi(call: ProviderCall): Promise<UsageFetch> {
  const usage = new UsageTotals(PROVIDER, call.day.date);
  await readBuckets(call, OPENAI, {
    api: 'usage API',
    path: '/v1/organization/usage/completions',
    groupBy: ['model', 'project_id', 'api_key_id', 'batch', 'service_tier'],
    result: CompletionsResult,
    onResult: (r) => {
      const grain = { model: r.model ?? 'unknown', service_tier: serviceTier(r.batch, r.service_tier), project_id: r.project_id ?? null, api_key_id: r.api_key_id ?? null };
      usage.add(grain, r.num_model_requests, completionClasses(r));
    },
  });
  await readBuckets(call, OPENAI, {
    api: 'usage API',
    path: '/v1/organization/usage/embeddings',
    groupBy: ['model', 'project_id', 'api_key_id'],
    result: EmbeddingsResult,
    onResult: (r) => {
      const grain = { model: r.model ?? 'unknown', service_tier: 'standard', project_id: r.project_id ?? null, api_key_id: r.api_key_id ?? null };
      usage.add(grain, r.num_model_requests, tokenCounts({ input_uncached: r.input_tokens }));
    },
  });
  const billed = new BilledTotals(PROVIDER, call.day.date);
  const hasCosts = await readBuckets(call, OPENAI, {
    api: 'costs API',
    path: '/v1/organization/costs',
    groupBy: ['project_id', 'line_item'],
    result: CostsResult,
    absentOn404: true,
    onResult: (r) => {
      if (r.amount.currency.toLowerCase() !== 'usd') {
        throw new ProviderResponseError(PROVIDER, `The ${PROVIDER} costs API answered an amount in a currency other than USD`);
      }
      billed.add({ project_id: r.project_id ?? null, model: null, service_tier: null, description: r.line_item ?? null }, parseUsd(r.amount.value));
    },
  });
  return { rows: usage.rows(), billed: hasCosts ? billed.rows() : null };
}

import * as z from 'zod';
import { parseUsdCents } from '../money/index.js';
import { tokenCounts, type UsageFetch } from '../usage/index.js';
import { BilledTotals } from './BilledTotals.js';
import { ANTHROPIC_VERSION } from './constants.js';
import { ProviderResponseError } from './errors.js';
import type { ProviderCall } from './ProviderCall.js';
import { readBuckets, type BucketPage, type Dialect } from './readBuckets.js';
import { UsageTotals } from './UsageTotals.js';

/*
 * Anthropic's Usage & Cost Admin API, as its reference pages describe it:
 * https://platform.claude.com/docs/en/api/admin-api/usage-cost/get-messages-usage-report and
 * https://platform.claude.com/docs/en/api/admin-api/usage-cost/get-cost-report (models
 * `MessagesUsageReport`, `CostReport` on https://platform.claude.com/docs/en/api/admin).
 * Admin key as `x-api-key`, `anthropic-version` required, arrays as `group_by[]=`, RFC 3339
 * bounds. Both endpoints are now labelled "[Legacy]" (the analytics endpoints replace them)
 * but still answer as documented.
 */

const PROVIDER = 'anthropic';
const count = z.number().int().nonnegative();
const optionalCount = count.nullish();
const optionalId = z.string().nullish();

/** RFC 3339 at second precision, as the reference's examples write it (`2025-08-01T00:00:00Z`). */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

const ANTHROPIC: Dialect = {
  provider: PROVIDER,
  headers: (credential) => ({ 'x-api-key': credential, 'anthropic-version': ANTHROPIC_VERSION, accept: 'application/json' }),
  bounds: (params, day) => {
    params.set('starting_at', rfc3339(day.startMs));
    params.set('ending_at', rfc3339(day.endMs));
    params.set('bucket_width', '1d');
  },
  groupByParam: 'group_by[]',
  page: <R>(result: z.ZodType<R>): z.ZodType<BucketPage<R>> =>
    z
      .object({
        data: z.array(z.object({ starting_at: z.string(), ending_at: z.string(), results: z.array(result) })),
        has_more: z.boolean(),
        next_page: z.string().nullish(),
      })
      .transform((page) => ({ buckets: page.data.map((b) => ({ startMs: Date.parse(b.starting_at), results: b.results })), hasMore: page.has_more, nextPage: page.next_page })),
};

/** A usage report result: four disjoint input buckets and output, and the grouping fields. */
const MessagesUsageResult = z.object({
  uncached_input_tokens: count,
  cache_read_input_tokens: optionalCount,
  cache_creation: z.object({ ephemeral_5m_input_tokens: optionalCount, ephemeral_1h_input_tokens: optionalCount }).nullish(),
  output_tokens: count,
  model: optionalId,
  workspace_id: optionalId,
  api_key_id: optionalId,
  service_tier: optionalId,
});

/** A cost report result: `amount` is a decimal string in cents (`"123.78912"` = $1.2378912). */
const CostResult = z.object({
  currency: z.string(),
  amount: z.string().regex(/^-?\d+(\.\d+)?$/, { error: 'must be a decimal string' }),
  workspace_id: optionalId,
  description: optionalId,
  model: optionalId,
  service_tier: optionalId,
});

/**
 * Anthropic's tier → ours: `priority_on_demand` is priced as priority, `flex_discount` as
 * flex; none (not grouped) is standard; a tier we do not know is kept as Anthropic spells it.
 */
function serviceTier(tier: string | null | undefined): string {
  switch (tier ?? 'standard') {
    case 'standard':
      return 'standard';
    case 'batch':
      return 'batch';
    case 'priority':
    case 'priority_on_demand':
      return 'priority';
    case 'flex':
    case 'flex_discount':
      return 'flex';
    default:
      return tier as string;
  }
}

/**
 * One UTC day of an Anthropic organization, read with the org's admin key:
 *
 * - Messages usage (`GET /v1/organizations/usage_report/messages`, grouped by model,
 *   workspace, API key and service tier): one row per grain. The input buckets are disjoint
 *   and kept apart — `uncached_input_tokens` → input_uncached, `cache_read_input_tokens` →
 *   input_cached (a tenth of the input price: summing it into "input" overstates a
 *   cache-heavy org several times over), `cache_creation.ephemeral_5m_input_tokens` /
 *   `ephemeral_1h_input_tokens` → cache_write_5m / cache_write_1h — and `output_tokens` →
 *   output. `workspace_id` is the project (null: the default workspace). `requests` is 0:
 *   the report counts tokens only, and 0 means "not reported".
 * - The bill (`GET /v1/organizations/cost_report`, grouped by workspace and description):
 *   one row per line, with the line's model and tier; `amount` (cents, a decimal string)
 *   read exactly through `parseUsdCents`; any currency but USD is refused; a 404 →
 *   `billed: null` (no figure). Priority Tier costs never appear in the cost report.
 *
 * Results of the same grain are summed over pages; a result without a model is counted
 * under `unknown`. Requests run one after the other, under the caller's one budget.
 */
export async function fetchAnthropic(call: ProviderCall): Promise<UsageFetch> {
  const usage = new UsageTotals(PROVIDER, call.day.date);
  await readBuckets(call, ANTHROPIC, {
    api: 'usage API',
    path: '/v1/organizations/usage_report/messages',
    groupBy: ['model', 'workspace_id', 'api_key_id', 'service_tier'],
    result: MessagesUsageResult,
    onResult: (r) => {
      const grain = { model: r.model ?? 'unknown', service_tier: serviceTier(r.service_tier), project_id: r.workspace_id ?? null, api_key_id: r.api_key_id ?? null };
      usage.add(
        grain,
        0,
        tokenCounts({
          input_uncached: r.uncached_input_tokens,
          input_cached: r.cache_read_input_tokens ?? 0,
          cache_write_5m: r.cache_creation?.ephemeral_5m_input_tokens ?? 0,
          cache_write_1h: r.cache_creation?.ephemeral_1h_input_tokens ?? 0,
          output: r.output_tokens,
        }),
      );
    },
  });
  const billed = new BilledTotals(PROVIDER, call.day.date);
  const hasCosts = await readBuckets(call, ANTHROPIC, {
    api: 'costs API',
    path: '/v1/organizations/cost_report',
    groupBy: ['workspace_id', 'description'],
    result: CostResult,
    absentOn404: true,
    onResult: (r) => {
      if (r.currency.toLowerCase() !== 'usd') {
        throw new ProviderResponseError(PROVIDER, `The ${PROVIDER} costs API answered an amount in a currency other than USD`);
      }
      const tier = r.service_tier === null || r.service_tier === undefined ? null : serviceTier(r.service_tier);
      billed.add({ project_id: r.workspace_id ?? null, model: r.model ?? null, service_tier: tier, description: r.description ?? null }, parseUsdCents(r.amount));
    },
  });
  return { rows: usage.rows(), billed: hasCosts ? billed.rows() : null };
}

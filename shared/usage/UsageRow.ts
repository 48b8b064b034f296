import type { TokenCounts } from './tokenClasses.js';

/**
 * One group of one day's usage, at the grain the provider reports it: one row per
 * (usage_date, provider, model, service_tier, project_id, api_key_id). Integers, no cost
 * (pricing is a separate step, `shared/pricing`).
 */
export type UsageRow = {
  /** The UTC day, `YYYY-MM-DD`. */
  usage_date: string;
  /** The provider that served it (`openai`, `anthropic`). */
  provider: string;
  /** The model id exactly as the provider reports it (often a dated snapshot). */
  model: string;
  /** `standard` | `batch` | `flex` | `priority` (see `SERVICE_TIERS`), or the provider's own name for a tier we do not know. */
  service_tier: string;
  /** OpenAI project or Anthropic workspace; null where the provider reports none (default workspace). */
  project_id: string | null;
  /** The provider's API key id, where it reports one. */
  api_key_id: string | null;
  /** API requests; 0 where the provider does not report them (Anthropic). */
  requests: number;
  tokens: TokenCounts;
};

/**
 * What the provider itself billed for part of one day (its costs API), next to which our
 * own estimate is shown. `amount_usd` is an exact decimal string (the provider's figure,
 * converted without floats: OpenAI's dollars as sent, Anthropic's cents / 100).
 */
export type BilledRow = {
  usage_date: string;
  provider: string;
  project_id: string | null;
  /** The model, where the provider's cost line names one. */
  model: string | null;
  service_tier: string | null;
  /** The provider's own description of the line (OpenAI `line_item`, Anthropic `description`). */
  description: string | null;
  amount_usd: string;
};

/**
 * What one pipeline pulled for one org and day. The worker replaces exactly the rows its
 * own pipeline loaded for that day (by `source`), never another pipeline's.
 *
 * `billed` is null where the provider has no costs API (or the pipeline is the demo): "no
 * figure", not "zero".
 */
export interface UsageFetch {
  rows: UsageRow[];
  billed: BilledRow[] | null;
}

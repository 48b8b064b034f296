/** The pipelines that pull usage: `<provider>_usage_daily` for these providers. */
export const USAGE_PROVIDERS = ['demo', 'openai', 'anthropic'] as const;

export type UsageProvider = (typeof USAGE_PROVIDERS)[number];

/** True for a provider a usage pipeline exists for. */
export function isUsageProvider(value: string): value is UsageProvider {
  return (USAGE_PROVIDERS as readonly string[]).includes(value);
}

/**
 * One day of one model's usage, as a provider reports it: integers, no cost (pricing is a
 * separate step, {@link priceRows}). One row per (usage_date, provider, model).
 */
export type UsageRow = {
  /** The UTC day, `YYYY-MM-DD`. */
  usage_date: string;
  /** The provider the usage was billed by (`openai`, `anthropic`, …; never `demo`). */
  provider: string;
  model: string;
  /** API requests that day; 0 where the provider does not report them (Anthropic). */
  requests: number;
  input_tokens: number;
  output_tokens: number;
};

/**
 * What one pipeline pulled for one org and day.
 *
 * `providersCovered` is the set of `provider` values whose rows for that day this fetch is
 * the complete truth of — the worker replaces exactly those providers' rows of the day
 * (delete (org, provider ∈ providersCovered, date), insert `rows`), never others. It is
 * not derived from `rows`: a provider with no usage that day is still covered, so a
 * re-run after usage vanished clears the old rows instead of leaving them.
 *
 * - `openai` → `['openai']`, `anthropic` → `['anthropic']`.
 * - `demo` → every provider of the demo catalogue (`anthropic`, `google`, `mistral`,
 *   `openai`): demo rows carry real provider names, like the demo seed, so `/v1/costs`
 *   groups them as real usage. Consequence: the demo pipeline and a real provider's
 *   pipeline for the same org and day replace each other's rows of that provider.
 */
export interface UsageFetch {
  rows: UsageRow[];
  providersCovered: readonly string[];
}

/**
 * The shipped price catalogue: list prices (USD per 1M tokens) of OpenAI and Anthropic
 * models, as the providers' own pages state them, each entry naming the page it was read
 * from and the day it was read (or the day the stored copy says it was taken).
 *
 * What an entry means:
 * - `input` is the price of uncached input tokens; `cached_input` of cache reads (OpenAI
 *   "Cached input", Anthropic "Cache Hits & Refreshes"); `cache_write_5m` / `cache_write_1h`
 *   of Anthropic prompt-cache writes with a 5-minute / 1-hour TTL (1.25x / 2x input on the
 *   page); `input_audio` / `output_audio` / `input_image` of audio and image tokens where the
 *   model page lists them separately. Embedding models have no output price: `output` is '0'.
 * - `service_tier: 'standard'` is the list price. A `batch` / `flex` / `priority` price is
 *   derived as standard x {@link TIER_MULTIPLIERS} unless an explicit entry for that tier
 *   exists (explicit entries win). Priority has no multiplier: OpenAI publishes per-model
 *   priority prices (explicit entries below); Anthropic's Priority Tier is a capacity
 *   commitment with no published per-token rate, so it is not priced here.
 * - `match: 'snapshots'` also prices the dated ids the API reports (`gpt-4o-2024-08-06`,
 *   `claude-sonnet-4-5-20250929`); `'exact'` prices only the id itself.
 *
 * Known gaps the schema cannot express, and prices not found (see the refresh notes):
 * - Anthropic long-context rates (Sonnet 4 / 4.5 above 200K input tokens) and OpenAI
 *   long-context / regional surcharges are not represented; requests priced at those rates
 *   are under-priced by this catalogue.
 * - Cached audio/image input (OpenAI realtime and image models list one) has no field; such
 *   tokens fall back to whatever the consumer uses for uncached audio/image input.
 * - A model page gives one price for the alias and every snapshot it lists; older snapshots
 *   priced differently on OpenAI's pricing page (e.g. `gpt-4o-2024-05-13`) were not found on
 *   a provider page and so have no exact entry of their own.
 * - Not found on a provider page, so not listed: `text-embedding-ada-002`, `gpt-realtime`
 *   audio prices (text prices alone would misprice its audio, so the model is left out).
 *
 * How to refresh: read the pages in `source_url` again (Anthropic: the "Model pricing" table
 * of the pricing page; OpenAI: each model's page under developers.openai.com/api/docs/models,
 * the pricing page, openai.com/api-priority-processing and the batch / flex guides), update
 * the prices and `read_on` (the day you read them; keep the old entry and add one with an
 * `effective_from` when a page announces a dated change), then run the pricing tests
 * (`npx vitest run test/functions/pricing.test.ts`), `npm run typecheck` and `npm run lint`.
 * URLs are given without tracking or locale query strings.
 */
export interface CatalogueEntryData {
  provider: 'openai' | 'anthropic';
  /** The model id as the provider's API reports it, without a dated suffix. */
  model: string;
  /** 'snapshots': also prices `<model>-YYYY-MM-DD` / `<model>-YYYYMMDD`; 'exact': only this id. */
  match: 'exact' | 'snapshots';
  service_tier: 'standard' | 'batch' | 'flex' | 'priority';
  effective_from: string; // YYYY-MM-DD; '1970-01-01' unless the page states when this price took effect
  prices_per_mtok_usd: {
    input: string;
    output: string;
    cached_input?: string;
    cache_write_5m?: string;
    cache_write_1h?: string;
    input_audio?: string;
    output_audio?: string;
    input_image?: string;
  };
  source_url: string;
  read_on: string; // YYYY-MM-DD
}

export interface TierMultiplierData {
  provider: 'openai' | 'anthropic';
  service_tier: 'batch' | 'flex' | 'priority';
  multiplier: string;
  source_url: string;
  read_on: string;
}

// Anthropic's current pricing page (stored copy undated). Its "Model pricing" table lists
// Opus 4.5, Opus 4.1 (retired, except on Bedrock and Google Cloud) and Opus 4 (retired,
// except on Google Cloud) with these rates.
const ANTHROPIC_PRICING = 'https://platform.claude.com/docs/en/about-claude/pricing';
// The same page in its zh-CN locale (an older stored copy, undated; table in English), read
// for the rows the copy of the English page above was cut off before: Sonnet 4.5, Sonnet 4,
// Sonnet 3.7 (deprecated), Haiku 4.5, Haiku 3.5 and Haiku 3.
const ANTHROPIC_PRICING_ZH = 'https://platform.claude.com/docs/zh-CN/about-claude/pricing';
const ANTHROPIC_BATCH = 'https://platform.claude.com/docs/build-with-claude/batch-processing';

// OpenAI model pages. Where a model's own page was not in the stored copies, its price is
// read from the "Quick comparison" table of another OpenAI model page that lists it (the
// page named in `source_url`).
const OPENAI_MODELS = 'https://developers.openai.com/api/docs/models';
const OPENAI_PRIORITY = 'https://openai.com/api-priority-processing/';
const OPENAI_BATCH = 'https://developers.openai.com/api/docs/guides/batch';
const OPENAI_FLEX = 'https://developers.openai.com/api/docs/guides/flex-processing';

/** The day this catalogue was assembled; used as `read_on` where the stored copy carries no date. */
const READ_ON = '2026-12-05';
const ALWAYS = '1970-01-01';

export const CATALOGUE_ENTRIES: readonly CatalogueEntryData[] = [
  // ---------------------------------------------------------------- OpenAI, standard
  {
    provider: 'openai',
    model: 'gpt-4o',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '2.50', output: '10.00', cached_input: '1.25' },
    // Verbatim copy of the page's .md version, dated "as read 2026-09-24".
    source_url: `${OPENAI_MODELS}/gpt-4o`,
    read_on: '2026-09-24',
  },
  {
    provider: 'openai',
    model: 'gpt-4o-mini',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '0.15', output: '0.60', cached_input: '0.075' },
    source_url: `${OPENAI_MODELS}/gpt-4o-mini`,
    read_on: '2026-09-24',
  },
  {
    provider: 'openai',
    model: 'gpt-4.1',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '2.00', output: '8.00', cached_input: '0.50' },
    source_url: `${OPENAI_MODELS}/gpt-4.1`,
    read_on: READ_ON,
  },
  {
    provider: 'openai',
    model: 'gpt-4.1-mini',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '0.40', output: '1.60', cached_input: '0.10' },
    source_url: `${OPENAI_MODELS}/gpt-4.1-mini`,
    read_on: READ_ON,
  },
  {
    provider: 'openai',
    model: 'gpt-4.1-nano',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '0.10', output: '0.40', cached_input: '0.025' },
    // Read on the ko-KR locale of the model page (prices are USD).
    source_url: 'https://developers.openai.com/ko-KR/api/docs/models/gpt-4.1-nano',
    read_on: READ_ON,
  },
  {
    provider: 'openai',
    model: 'o1',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '15.00', output: '60.00', cached_input: '7.50' },
    // "Quick comparison" row for o1 on the o3-deep-research page.
    source_url: `${OPENAI_MODELS}/o3-deep-research`,
    read_on: READ_ON,
  },
  {
    provider: 'openai',
    model: 'o3',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '2.00', output: '8.00', cached_input: '0.50' },
    // "Quick comparison" row for o3 on the o4-mini page.
    source_url: `${OPENAI_MODELS}/o4-mini`,
    read_on: READ_ON,
  },
  {
    provider: 'openai',
    model: 'o3-mini',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '1.10', output: '4.40', cached_input: '0.55' },
    source_url: `${OPENAI_MODELS}/o3-mini`,
    read_on: READ_ON,
  },
  {
    provider: 'openai',
    model: 'o4-mini',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '1.10', output: '4.40', cached_input: '0.275' },
    source_url: `${OPENAI_MODELS}/o4-mini`,
    read_on: READ_ON,
  },
  {
    provider: 'openai',
    model: 'gpt-5',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '1.25', output: '10.00', cached_input: '0.125' },
    // "Quick comparison" row for GPT-5 on the gpt-5-pro page.
    source_url: `${OPENAI_MODELS}/gpt-5-pro`,
    read_on: READ_ON,
  },
  {
    provider: 'openai',
    model: 'gpt-5-mini',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '0.25', output: '2.00', cached_input: '0.025' },
    source_url: `${OPENAI_MODELS}/gpt-5-mini`,
    read_on: READ_ON,
  },
  {
    provider: 'openai',
    model: 'gpt-5-nano',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '0.05', output: '0.40', cached_input: '0.005' },
    source_url: `${OPENAI_MODELS}/gpt-5-nano`,
    read_on: READ_ON,
  },
  {
    provider: 'openai',
    model: 'text-embedding-3-small',
    match: 'exact',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '0.02', output: '0' },
    // Stored copy of the page, "Fetched UTC: 2026-10-04".
    source_url: `${OPENAI_MODELS}/text-embedding-3-small`,
    read_on: '2026-10-04',
  },
  {
    provider: 'openai',
    model: 'text-embedding-3-large',
    match: 'exact',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '0.13', output: '0' },
    source_url: `${OPENAI_MODELS}/text-embedding-3-large`,
    read_on: READ_ON,
  },
  {
    // The page marks the model "Shut down"; kept to price historical usage.
    provider: 'openai',
    model: 'gpt-4o-audio-preview',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '2.50', output: '10.00', input_audio: '40.00', output_audio: '80.00' },
    source_url: `${OPENAI_MODELS}/gpt-4o-audio-preview`,
    read_on: READ_ON,
  },
  {
    provider: 'openai',
    model: 'gpt-4o-mini-audio-preview',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '0.15', output: '0.60', input_audio: '10.00', output_audio: '20.00' },
    source_url: `${OPENAI_MODELS}/gpt-4o-mini-audio-preview`,
    read_on: READ_ON,
  },
  {
    // "Shut down" on the page. Its cached audio input ($2.50) has no field here.
    provider: 'openai',
    model: 'gpt-4o-realtime-preview',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '5.00', output: '20.00', cached_input: '2.50', input_audio: '40.00', output_audio: '80.00' },
    source_url: `${OPENAI_MODELS}/gpt-4o-realtime-preview`,
    read_on: READ_ON,
  },
  {
    // Cached audio input ($0.30) has no field here.
    provider: 'openai',
    model: 'gpt-4o-mini-realtime-preview',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '0.60', output: '2.40', cached_input: '0.30', input_audio: '10.00', output_audio: '20.00' },
    source_url: `${OPENAI_MODELS}/gpt-4o-mini-realtime-preview`,
    read_on: READ_ON,
  },
  {
    // Text tokens: input $5, cached $1.25. Image tokens: input $10 (cached $2.50, no field
    // here), output $40; the only output is image tokens. Per-image generation prices
    // (e.g. $0.011 for a low-quality 1024x1024 image) are not token prices and are left out.
    provider: 'openai',
    model: 'gpt-image-1',
    match: 'exact',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '5.00', output: '40.00', cached_input: '1.25', input_image: '10.00' },
    source_url: `${OPENAI_MODELS}/gpt-image-1`,
    read_on: READ_ON,
  },

  // ---------------------------------------------------------------- OpenAI, priority
  // Priority prices are per model, not a multiple of standard (GPT-5 2x, GPT-5 mini 1.8x,
  // GPT-4.1 1.75x), and exclude long-context requests. The stored copy of the page was cut
  // off after the GPT-4.1 row, so the remaining models have no priority price here.
  {
    provider: 'openai',
    model: 'gpt-5',
    match: 'snapshots',
    service_tier: 'priority',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '2.50', output: '20.00', cached_input: '0.25' },
    source_url: OPENAI_PRIORITY,
    read_on: READ_ON,
  },
  {
    provider: 'openai',
    model: 'gpt-5-mini',
    match: 'snapshots',
    service_tier: 'priority',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '0.45', output: '3.60', cached_input: '0.045' },
    source_url: OPENAI_PRIORITY,
    read_on: READ_ON,
  },
  {
    provider: 'openai',
    model: 'gpt-4.1',
    match: 'snapshots',
    service_tier: 'priority',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '3.50', output: '14.00', cached_input: '0.875' },
    source_url: OPENAI_PRIORITY,
    read_on: READ_ON,
  },

  // ---------------------------------------------------------------- Anthropic, standard
  {
    provider: 'anthropic',
    model: 'claude-opus-4-5',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '5.00', output: '25.00', cached_input: '0.50', cache_write_5m: '6.25', cache_write_1h: '10.00' },
    source_url: ANTHROPIC_PRICING,
    read_on: READ_ON,
  },
  {
    provider: 'anthropic',
    model: 'claude-opus-4-1',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '15.00', output: '75.00', cached_input: '1.50', cache_write_5m: '18.75', cache_write_1h: '30.00' },
    source_url: ANTHROPIC_PRICING,
    read_on: READ_ON,
  },
  {
    provider: 'anthropic',
    model: 'claude-opus-4',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '15.00', output: '75.00', cached_input: '1.50', cache_write_5m: '18.75', cache_write_1h: '30.00' },
    source_url: ANTHROPIC_PRICING,
    read_on: READ_ON,
  },
  {
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '3.00', output: '15.00', cached_input: '0.30', cache_write_5m: '3.75', cache_write_1h: '6.00' },
    source_url: ANTHROPIC_PRICING_ZH,
    read_on: READ_ON,
  },
  {
    provider: 'anthropic',
    model: 'claude-sonnet-4',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '3.00', output: '15.00', cached_input: '0.30', cache_write_5m: '3.75', cache_write_1h: '6.00' },
    source_url: ANTHROPIC_PRICING_ZH,
    read_on: READ_ON,
  },
  {
    provider: 'anthropic',
    model: 'claude-3-7-sonnet',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '3.00', output: '15.00', cached_input: '0.30', cache_write_5m: '3.75', cache_write_1h: '6.00' },
    source_url: ANTHROPIC_PRICING_ZH,
    read_on: READ_ON,
  },
  {
    provider: 'anthropic',
    model: 'claude-haiku-4-5',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '1.00', output: '5.00', cached_input: '0.10', cache_write_5m: '1.25', cache_write_1h: '2.00' },
    source_url: ANTHROPIC_PRICING_ZH,
    read_on: READ_ON,
  },
  {
    provider: 'anthropic',
    model: 'claude-3-5-haiku',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '0.80', output: '4.00', cached_input: '0.08', cache_write_5m: '1.00', cache_write_1h: '1.60' },
    source_url: ANTHROPIC_PRICING_ZH,
    read_on: READ_ON,
  },
  {
    // As the page lists them: 5m write $0.30 and cache hit $0.03, not the 1.25x / 0.1x of
    // $0.25 ($0.3125 / $0.025) the multipliers would give.
    provider: 'anthropic',
    model: 'claude-3-haiku',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: ALWAYS,
    prices_per_mtok_usd: { input: '0.25', output: '1.25', cached_input: '0.03', cache_write_5m: '0.30', cache_write_1h: '0.50' },
    source_url: ANTHROPIC_PRICING_ZH,
    read_on: READ_ON,
  },
];

export const TIER_MULTIPLIERS: readonly TierMultiplierData[] = [
  // "Better cost efficiency: 50% cost discount compared to synchronous APIs".
  { provider: 'openai', service_tier: 'batch', multiplier: '0.5', source_url: OPENAI_BATCH, read_on: READ_ON },
  // "Tokens are priced at Batch API rates, with additional discounts from prompt caching."
  // Flex is offered for a limited set of models only (listed on the pricing page).
  { provider: 'openai', service_tier: 'flex', multiplier: '0.5', source_url: OPENAI_FLEX, read_on: READ_ON },
  // "... most batches finishing in less than 1 hour while reducing costs by 50%"; the page's
  // batch price table is exactly half the standard input and output prices.
  { provider: 'anthropic', service_tier: 'batch', multiplier: '0.5', source_url: ANTHROPIC_BATCH, read_on: READ_ON },
];

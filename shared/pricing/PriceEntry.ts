import type { ServiceTier } from '../usage/index.js';

/**
 * The classes a price entry can price, per 1M tokens. Each token class (`shared/usage`) is
 * priced by one of them — `input_uncached` by `input`, `input_cached` by `cached_input`,
 * the rest by the class of the same name.
 */
export const PRICE_CLASSES = ['input', 'output', 'cached_input', 'cache_write_5m', 'cache_write_1h', 'input_audio', 'output_audio', 'input_image'] as const;

export type PriceClass = (typeof PRICE_CLASSES)[number];

/** Prices per 1M tokens as exact decimal strings; `input` and `output` always, the rest where the entry has them. */
export type PricesPerMtok = { input: string; output: string } & Partial<Record<Exclude<PriceClass, 'input' | 'output'>, string>>;

/** How an entry matches the model ids usage reports. */
export type MatchMode = 'exact' | 'snapshots';

/**
 * One price entry, from the org (its negotiated rates) or the shipped catalogue (list
 * prices). Entries are effective-dated: the one in force on a usage day is the newest
 * whose `effective_from` is on or before it.
 */
export interface PriceEntry {
  provider: string;
  model: string;
  match: MatchMode;
  service_tier: ServiceTier;
  /** `YYYY-MM-DD`. */
  effective_from: string;
  prices_per_mtok_usd: PricesPerMtok;
  source: 'org' | 'catalogue';
  /** The page a catalogue entry was read from. */
  source_url?: string;
  /** The day a catalogue entry was read. */
  read_on?: string;
  /** When an org entry was last written (RFC 3339). */
  updated_at?: string;
}

/** A stable id of an entry, stored with each priced row (`price_entry`): which price priced it. */
export function priceEntryId(entry: PriceEntry): string {
  return `${entry.source}:${entry.provider}/${entry.model}/${entry.match}/${entry.service_tier}/${entry.effective_from}`;
}

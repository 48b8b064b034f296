import { parseDecimal } from '../money/index.js';
import { CATALOGUE_ENTRIES, TIER_MULTIPLIERS } from './catalogueEntries.js';
import { PRICE_CLASSES, type PriceEntry } from './PriceEntry.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const HTTPS = /^https:\/\/[^\s]+$/;

/** Scale of prices per 1M tokens (PostgreSQL `numeric(24,10)`). */
export const PRICE_SCALE = 10;
/** Scale of tier multipliers. */
export const MULTIPLIER_SCALE = 4;

/**
 * Checks the shipped catalogue once: every entry cites an https source page and the day it
 * was read, has valid dates and decimal prices, and no two entries share (provider, model,
 * tier, effective_from). A bad entry stops the function from starting, not a request.
 *
 * @throws Error naming the entry and what is wrong with it
 */
function validated(): readonly PriceEntry[] {
  const seen = new Set<string>();
  return CATALOGUE_ENTRIES.map((data): PriceEntry => {
    const name = `catalogue entry ${data.provider}/${data.model}/${data.service_tier}/${data.effective_from}`;
    if (!HTTPS.test(data.source_url)) throw new Error(`${name}: source_url must be the https page it was read from`);
    if (!DATE.test(data.read_on) || !DATE.test(data.effective_from)) throw new Error(`${name}: read_on and effective_from must be YYYY-MM-DD`);
    for (const c of PRICE_CLASSES) {
      const price = data.prices_per_mtok_usd[c];
      if (price !== undefined) parseDecimal(price, PRICE_SCALE);
    }
    const key = `${data.provider}|${data.model}|${data.service_tier}|${data.effective_from}`;
    if (seen.has(key)) throw new Error(`${name}: listed twice`);
    seen.add(key);
    return { ...data, prices_per_mtok_usd: { ...data.prices_per_mtok_usd }, source: 'catalogue' };
  });
}

let entries: readonly PriceEntry[] | undefined;

/** The shipped catalogue of list prices, validated on first use. */
export function catalogueEntries(): readonly PriceEntry[] {
  entries ??= validated();
  return entries;
}

/**
 * The catalogue's multiplier for a tier without an entry of its own (batch: 0.5 at OpenAI
 * and Anthropic), as a decimal string; undefined when the provider publishes none for it.
 */
export function tierMultiplier(provider: string, serviceTier: string): string | undefined {
  return TIER_MULTIPLIERS.find((m) => m.provider === provider && m.service_tier === serviceTier)?.multiplier;
}

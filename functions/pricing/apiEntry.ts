import { trimDecimal } from '../../shared/money/index.js';
import { PRICE_CLASSES, type PriceEntry, type PricesPerMtok } from '../../shared/pricing/index.js';

/**
 * An entry as the API shows it: fields in one order whatever the source, prices in
 * {@link PRICE_CLASSES} order as exact decimals without trailing zeros (the catalogue
 * states `"2.50"` as the page does; the API says `"2.5"`), and only the fields the source
 * has (`source_url` / `read_on` for the catalogue, `updated_at` for the org).
 */
export function apiEntry(entry: PriceEntry): PriceEntry {
  const prices: Partial<Record<(typeof PRICE_CLASSES)[number], string>> = {};
  for (const c of PRICE_CLASSES) {
    const value = entry.prices_per_mtok_usd[c];
    if (value !== undefined) prices[c] = trimDecimal(value);
  }
  return {
    provider: entry.provider,
    model: entry.model,
    match: entry.match,
    service_tier: entry.service_tier,
    effective_from: entry.effective_from,
    prices_per_mtok_usd: prices as PricesPerMtok,
    source: entry.source,
    ...(entry.source_url === undefined ? {} : { source_url: entry.source_url }),
    ...(entry.read_on === undefined ? {} : { read_on: entry.read_on }),
    ...(entry.updated_at === undefined ? {} : { updated_at: entry.updated_at }),
  };
}

import { formatUsd, tokensCostNanos, type Nanos } from '../money/index.js';
import { TOKEN_CLASSES, type TokenClass, type UsageRow } from '../usage/index.js';
import { priceEntryId, type PriceClass, type PriceEntry } from './PriceEntry.js';
import { isResolved, PRICE_UNIT_SCALE, resolvePrice, type ResolvedPrice } from './resolvePrice.js';

/** The price class each token class is priced by. */
export const PRICE_CLASS_OF: Readonly<Record<TokenClass, PriceClass>> = {
  input_uncached: 'input',
  input_cached: 'cached_input',
  cache_write_5m: 'cache_write_5m',
  cache_write_1h: 'cache_write_1h',
  output: 'output',
  input_audio: 'input_audio',
  output_audio: 'output_audio',
  input_image: 'input_image',
};

/** A usage row with its cost: exact nano-dollars, their NUMERIC text, and what could not be priced. */
export type PricedUsageRow = UsageRow & {
  cost_nanos: Nanos;
  /** NUMERIC text, 9 decimals. */
  cost_usd: string;
  /** Tokens of classes the chosen entry has no price for (or of the whole row, when nothing prices it): cost 0, counted. */
  unpriced_tokens: number;
  /** `priceEntryId` of the entry that priced the row; null when none did. */
  price_entry: string | null;
};

export interface PricedUsage {
  rows: PricedUsageRow[];
  totalNanos: Nanos;
  /** Rows with any unpriced tokens. */
  unpricedRows: number;
  unpricedTokens: number;
}

/**
 * Prices each row class by class with {@link resolvePrice}: `cost = Σ tokens(class) ×
 * price(class) [× tier multiplier] / 1M`, exact in integers and rounded once, half-even, to
 * nano-dollars (BigQuery NUMERIC's scale). A class with tokens and no price in the chosen
 * entry is never priced at another class's rate: its tokens are `unpriced_tokens` and cost
 * 0. A row nothing prices is all unpriced.
 *
 * @throws RangeError when a token count is not a non-negative safe integer (a bug upstream)
 */
export function priceUsage(rows: readonly UsageRow[], entries: readonly PriceEntry[]): PricedUsage {
  const cache = new Map<string, ResolvedPrice | undefined>();
  let totalNanos = 0n;
  let unpricedRows = 0;
  let unpricedTokens = 0;
  const priced = rows.map((row): PricedUsageRow => {
    const key = `${row.provider}\u0000${row.model}\u0000${row.service_tier}\u0000${row.usage_date}`;
    let price = cache.get(key);
    if (!cache.has(key)) {
      const found = resolvePrice(entries, row);
      price = isResolved(found) ? found : undefined;
      cache.set(key, price);
    }
    let exact = 0n;
    let unpriced = 0;
    for (const c of TOKEN_CLASSES) {
      const tokens = row.tokens[c];
      if (!Number.isSafeInteger(tokens) || tokens < 0) throw new RangeError(`tokens.${c} of ${row.provider}/${row.model} must be a non-negative integer`);
      if (tokens === 0) continue;
      const units = price?.units[PRICE_CLASS_OF[c]] ?? null;
      if (units === null) unpriced += tokens;
      else exact += BigInt(tokens) * units;
    }
    const cost = tokensCostNanos(exact, PRICE_UNIT_SCALE);
    totalNanos += cost;
    if (unpriced > 0) unpricedRows += 1;
    unpricedTokens += unpriced;
    return { ...row, cost_nanos: cost, cost_usd: formatUsd(cost), unpriced_tokens: unpriced, price_entry: price === undefined ? null : priceEntryId(price.entry) };
  });
  return { rows: priced, totalNanos, unpricedRows, unpricedTokens };
}

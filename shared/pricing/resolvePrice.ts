import { formatDecimal, parseDecimal, trimDecimal } from '../money/index.js';
import { MULTIPLIER_SCALE, PRICE_SCALE, tierMultiplier } from './catalogue.js';
import { modelMatches } from './modelMatches.js';
import { PRICE_CLASSES, type PriceClass, type PriceEntry } from './PriceEntry.js';

/** What a usage row is priced by. */
export interface UsageKey {
  provider: string;
  model: string;
  service_tier: string;
  /** `YYYY-MM-DD`. */
  usage_date: string;
}

/** The entry that prices a usage key, and the effective price of each class (null: the entry has none). */
export interface ResolvedPrice {
  entry: PriceEntry;
  /** The tier multiplier applied to a standard entry, when the tier has no entry of its own. */
  multiplier: string | null;
  /** Effective USD per 1M tokens of each class, exact decimal text; null where the entry has no price for it. */
  per_class: Record<PriceClass, string | null>;
  /** The same, as units of 10^-(PRICE_SCALE + MULTIPLIER_SCALE) USD per 1M tokens, for exact arithmetic. */
  units: Record<PriceClass, bigint | null>;
}

/** Why nothing prices a usage key: said to the caller of `/v1/pricing/resolve`. */
export interface Unresolved {
  reason: string;
}

const SOURCES = ['org', 'catalogue'] as const;

/**
 * The newest entry in force on the day among those of one source, tier and match mode that
 * price the model; an entry naming the reported id itself beats one that prices it as a
 * snapshot of a shorter id.
 */
function newestInForce(candidates: readonly PriceEntry[], model: string, date: string): PriceEntry | undefined {
  let best: PriceEntry | undefined;
  for (const e of candidates) {
    if (e.effective_from > date) continue;
    if (best === undefined) {
      best = e;
      continue;
    }
    const specific = Number(e.model === model) - Number(best.model === model);
    if (specific > 0 || (specific === 0 && e.effective_from > best.effective_from)) best = e;
  }
  return best;
}

/** Org entries first, then the catalogue; within each, `exact` entries before `snapshots` ones. */
function pickForTier(entries: readonly PriceEntry[], key: UsageKey, tier: string): PriceEntry | undefined {
  for (const source of SOURCES) {
    for (const match of ['exact', 'snapshots'] as const) {
      const candidates = entries.filter(
        (e) => e.source === source && e.match === match && e.provider === key.provider && e.service_tier === tier && modelMatches(e.model, e.match, key.model),
      );
      const found = newestInForce(candidates, key.model, key.usage_date);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/**
 * The price of a usage row (API.md, pricing): the org's entries first, then the shipped
 * catalogue; among the entries for the row's tier that price its model, the one with the
 * newest `effective_from` on or before its day. A tier with no entry of its own is priced
 * as the standard entry times the catalogue's multiplier for that provider and tier. No
 * entry at all → {@link Unresolved}, with the reason.
 *
 * `entries` may hold entries of other providers and models: they are filtered here.
 */
export function resolvePrice(entries: readonly PriceEntry[], key: UsageKey): ResolvedPrice | Unresolved {
  const own = pickForTier(entries, key, key.service_tier);
  if (own !== undefined) return resolved(own, null);
  if (key.service_tier !== 'standard') {
    const multiplier = tierMultiplier(key.provider, key.service_tier);
    const standard = pickForTier(entries, key, 'standard');
    if (multiplier !== undefined && standard !== undefined) return resolved(standard, multiplier);
    if (standard !== undefined) {
      return { reason: `No ${key.service_tier} price for ${key.provider}/${key.model}, and the catalogue has no ${key.service_tier} multiplier for ${key.provider}` };
    }
  }
  const any = entries.some((e) => e.provider === key.provider && modelMatches(e.model, e.match, key.model));
  return {
    reason: any
      ? `No price for ${key.provider}/${key.model} (${key.service_tier}) is in force on ${key.usage_date}`
      : `No price entry matches ${key.provider}/${key.model}`,
  };
}

const UNIT_SCALE = PRICE_SCALE + MULTIPLIER_SCALE;

function resolved(entry: PriceEntry, multiplier: string | null): ResolvedPrice {
  const factor = multiplier === null ? 10n ** BigInt(MULTIPLIER_SCALE) : parseDecimal(multiplier, MULTIPLIER_SCALE);
  const units = {} as Record<PriceClass, bigint | null>;
  const perClass = {} as Record<PriceClass, string | null>;
  for (const c of PRICE_CLASSES) {
    const price = entry.prices_per_mtok_usd[c];
    const value = price === undefined ? null : parseDecimal(price, PRICE_SCALE) * factor;
    units[c] = value;
    perClass[c] = value === null ? null : trimDecimal(formatDecimal(value, UNIT_SCALE));
  }
  return { entry, multiplier, per_class: perClass, units };
}

/** The scale of {@link ResolvedPrice.units}. */
export const PRICE_UNIT_SCALE = UNIT_SCALE;

export function isResolved(value: ResolvedPrice | Unresolved): value is ResolvedPrice {
  return 'entry' in value;
}

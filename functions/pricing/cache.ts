import { TenantCache, type CacheStats } from '../../shared/cache/index.js';
import type { PriceEntry } from '../../shared/pricing/index.js';

/** One page of the list as the API returns it: org and catalogue entries, merged. */
export interface PricingPage {
  items: PriceEntry[];
  next_cursor: string | null;
}

export interface PricingCacheOptions {
  ttlMs: number;
  maxEntries: number;
  maxEntriesPerTenant: number;
}

/**
 * Cached list pages: one tenant scope per org, keyed by the normalized query.
 *
 * A write drops the org's whole scope, so the next list on this instance reads the
 * database. A load that was already running when the write landed is not kept either:
 * `TenantCache` detaches in-flight loads on invalidation, so a page read before the write
 * can never be cached after it.
 */
export class PricingCache {
  readonly #pages: TenantCache<PricingPage>;

  constructor({ ttlMs, maxEntries, maxEntriesPerTenant }: PricingCacheOptions) {
    // lru-cache reads a TTL of 0 as "never expires"; 1 ms is the closest to "do not cache".
    this.#pages = new TenantCache<PricingPage>({ name: 'pricing.pages', ttlMs: Math.max(1, ttlMs), maxEntries, maxEntriesPerTenant });
  }

  /** The cached page for `query` (at once), or the one `load` produces (concurrent callers share one load). */
  page(orgId: string, query: string, load: () => Promise<PricingPage>): PricingPage | Promise<PricingPage> {
    return this.#pages.forTenant(orgId).getOrLoad(query, load);
  }

  /** Drops every cached page of one org; called after each of its writes. */
  invalidate(orgId: string): void {
    this.#pages.forTenant(orgId).invalidateAll();
  }

  stats(): CacheStats & { tenants: number } {
    return this.#pages.stats();
  }
}

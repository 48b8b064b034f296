import { TenantCache, type TenantCacheStats } from '../../shared/cache/index.js';
import { SerializedJson } from '../../shared/http/index.js';
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
  /** The cap on the cached pages' JSON text across tenants, in bytes (approximately: UTF-16 code units). */
  maxBytes: number;
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
  readonly #pages: TenantCache<SerializedJson<PricingPage>>;

  constructor({ ttlMs, maxEntries, maxEntriesPerTenant, maxBytes }: PricingCacheOptions) {
    // lru-cache reads a TTL of 0 as "never expires"; 1 ms is the closest to "do not cache".
    // A page is kept as the JSON it is sent as — serialized once, by the request that
    // loaded it — and only as that: a page's objects took twice its text's memory. Pages
    // vary in size (`limit` up to the maximum), so the cache is bounded by their bytes too:
    // 10,000 entries of full pages were 400 MiB of heap on an instance of 512 MiB.
    this.#pages = new TenantCache<SerializedJson<PricingPage>>({
      name: 'pricing.pages',
      ttlMs: Math.max(1, ttlMs),
      maxEntries,
      maxEntriesPerTenant,
      sizeOf: (page) => page.text.length,
      maxBytes,
    });
  }

  /** The cached page for `query` (at once), or the one `load` produces, serialized (concurrent callers share one load). */
  page(orgId: string, query: string, load: () => Promise<PricingPage>): SerializedJson<PricingPage> | Promise<SerializedJson<PricingPage>> {
    return this.#pages.forTenant(orgId).getOrLoad(query, async () => new SerializedJson(await load()));
  }

  /** Drops every cached page of one org; called after each of its writes. */
  invalidate(orgId: string): void {
    this.#pages.forTenant(orgId).invalidateAll();
  }

  stats(): TenantCacheStats {
    return this.#pages.stats();
  }
}

import { BoundedCache, TenantCache, type CacheStats } from '../../shared/cache/index.js';
import type { PricingItem } from './store.js';

/** One page of the list as the API returns it. */
export interface PricingPage {
  items: PricingItem[];
  next_cursor: string | null;
}

export interface PricingCacheOptions {
  ttlMs: number;
  maxEntries: number;
  maxEntriesPerTenant: number;
}

/**
 * Cached list pages, per tenant, keyed by the normalized query.
 *
 * A write drops the tenant's whole scope, so the next list on this instance reads the
 * database. That alone leaves one race: a load that started before the write and ends
 * after it would put the old page back. So every key also carries the tenant's *write
 * generation* (the instance's write counter at the tenant's last write); a late load
 * stores under an outdated generation that no later request asks for, and the entry
 * ages out. Generations are kept in a bounded map whose TTL far exceeds the pages' TTL
 * plus the longest load, so a generation is never forgotten while it still matters.
 */
export class PricingCache {
  readonly #pages: TenantCache<PricingPage>;
  readonly #generations: BoundedCache<number>;
  #writes = 0;

  constructor({ ttlMs, maxEntries, maxEntriesPerTenant }: PricingCacheOptions) {
    // lru-cache treats ttl 0 as "no expiry"; a 1 ms TTL is the closest to "do not cache".
    this.#pages = new TenantCache<PricingPage>({ ttlMs: Math.max(1, ttlMs), maxEntries, maxEntriesPerTenant });
    this.#generations = new BoundedCache<number>({ maxEntries: 100_000, ttlMs: Math.max(10 * 60_000, ttlMs * 4) });
  }

  /** The cached page for `query`, or the one `load` produces (concurrent callers share one load). */
  page(orgId: string, query: string, load: () => Promise<PricingPage>): Promise<PricingPage> {
    const generation = this.#generations.get(orgId) ?? 0;
    return this.#pages.forTenant(orgId).getOrLoad(`${generation}|${query}`, load);
  }

  /** Drops every cached page of one tenant; call after each of its writes. */
  invalidate(orgId: string): void {
    this.#writes += 1;
    this.#generations.set(orgId, this.#writes);
    this.#pages.forTenant(orgId).invalidateAll();
  }

  stats(): CacheStats & { tenants: number } {
    return this.#pages.stats();
  }
}

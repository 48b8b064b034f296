import type { TenantCacheStats } from '../../shared/cache/index.js';
import { createAuditHook } from '../../shared/audit/index.js';
import { defineHttpFunction } from '../../shared/function/index.js';
import { PricingCache } from './cache.js';
import { parsePricingConfig } from './config.js';
import { pricingRoutes } from './routes.js';

// Parsed at load: a bad setting stops the function before its first request.
const config = parsePricingConfig();

/**
 * The instance's cache of list pages. Module scope on purpose: it lives as long as the
 * instance, so warm invocations share it.
 */
const cache = new PricingCache({
  ttlMs: config.PRICING_CACHE_TTL_MS,
  maxEntries: config.PRICING_CACHE_MAX_ENTRIES,
  maxEntriesPerTenant: config.PRICING_CACHE_MAX_ENTRIES_PER_TENANT,
  maxBytes: config.PRICING_CACHE_MAX_BYTES,
});

/** Counters of the list cache on this instance (hits, misses, hit rate, size …). */
export function pricingCacheStats(): TenantCacheStats {
  return cache.stats();
}

/**
 * Drops one tenant's cached pages, as a write does. For benchmarks and tests that need an
 * uncached read; the API never needs it.
 */
export function invalidatePricingCache(orgId: string): void {
  cache.invalidate(orgId);
}

defineHttpFunction('pricing', { routes: pricingRoutes(cache), audit: createAuditHook() });

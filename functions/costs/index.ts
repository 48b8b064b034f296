import { authenticateTenant } from '../../shared/auth/index.js';
import { TenantCache, type CacheStats } from '../../shared/cache/index.js';
import { defineHttpFunction } from '../../shared/function/index.js';
import { route } from '../../shared/http/index.js';
import { parseCostsConfig } from './config.js';
import { loadCosts, type CostsView } from './costs.js';
import { costsQuery } from './schema.js';

// Parsed at load: a bad variable stops the function from starting.
const config = parseCostsConfig();

/**
 * Answers per tenant and normalized query (the parsed, defaulted values — so `?to=…&from=…`
 * and `?from=…&to=…&group_by=day&category=all` share one entry). Tenant scopes keep orgs
 * apart by construction.
 */
const cache = new TenantCache<CostsView>({ ttlMs: Math.max(1, config.COSTS_CACHE_TTL_MS), maxEntriesPerTenant: 50 });

/** Cache counters (tests, benchmarks). */
export function costsCacheStats(): CacheStats & { tenants: number } {
  return cache.stats();
}

defineHttpFunction('costs', {
  routes: [
    route({
      method: 'GET',
      path: '/v1/costs',
      auth: authenticateTenant,
      query: costsQuery,
      handler: async ({ auth, query }) => {
        if (config.COSTS_CACHE_TTL_MS === 0) return { body: await loadCosts(auth, query) };
        const key = `${query.group_by}|${query.category}|${query.from}|${query.to}`;
        return { body: await cache.forTenant(auth.orgId).getOrLoad(key, () => loadCosts(auth, query)) };
      },
    }),
  ],
});

import { authenticateTenant } from '../../shared/auth/index.js';
import { TenantCache, type CacheStats } from '../../shared/cache/index.js';
import { defineHttpFunction } from '../../shared/function/index.js';
import { route, STREAMED, writeChunk } from '../../shared/http/index.js';
import { parseCostsConfig } from './config.js';
import { loadCosts, type CostsView } from './costs.js';
import { focusBatches } from './exportCosts.js';
import { csvHeader, csvLine, jsonLine } from './focus.js';
import { costsExportQuery, costsQuery } from './schema.js';

// Parsed at load: a bad variable stops the function from starting.
const config = parseCostsConfig();

/**
 * Answers per tenant and normalized query (the parsed, defaulted values — so `?to=…&from=…`
 * and `?from=…&to=…&group_by=day&category=all` share one entry). Tenant scopes keep orgs
 * apart by construction.
 */
const cache = new TenantCache<CostsView>({ name: 'costs', ttlMs: Math.max(1, config.COSTS_CACHE_TTL_MS), maxEntriesPerTenant: 50 });

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
    route({
      method: 'GET',
      path: '/v1/costs/export',
      auth: authenticateTenant,
      query: costsExportQuery,
      /*
       * Streamed (`STREAMED`): each batch is written as it comes, with backpressure, so the
       * answer is never held whole. The first batch is read before any byte is written, so
       * a failure to reach BigQuery or PostgreSQL is still an error envelope; later failures
       * cut the transfer (see `STREAMED`).
       */
      handler: async ({ auth, query, res, deadline }) => {
        const batches = focusBatches(auth, query, config.COSTS_EXPORT_PAGE_SIZE);
        const first = await batches.next();
        const csv = query.format === 'csv';
        const encode = csv ? csvLine : jsonLine;
        res.status(200);
        res.setHeader('content-type', csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson');
        res.setHeader('content-disposition', `attachment; filename="cloudact-focus-${auth.orgSlug}-${query.from}-${query.to}.${query.format}"`);
        res.setHeader('cache-control', 'no-store');
        if (csv) await writeChunk(res, csvHeader(), deadline.signal);
        if (first.done !== true) {
          await writeChunk(res, first.value.map(encode).join(''), deadline.signal);
          for await (const batch of batches) await writeChunk(res, batch.map(encode).join(''), deadline.signal);
        }
        return { body: STREAMED };
      },
    }),
  ],
});

import { authenticateTenant } from '../../shared/auth/index.js';
import { TenantCache, type TenantCacheStats } from '../../shared/cache/index.js';
import { defineHttpFunction } from '../../shared/function/index.js';
import { route, STREAMED, writeChunk } from '../../shared/http/index.js';
import { parseCostsConfig } from './config.js';
import { loadCosts, type CostsView } from './costs.js';
import { focusBatches } from './exportCosts.js';
import { csvHeader, csvLine, jsonLine, type FocusRow } from './focus.js';
import { costsExportQuery, costsQuery, costsView } from './schema.js';

// Parsed at load: a bad variable stops the function from starting.
const config = parseCostsConfig();

/** FOCUS rows per write of the export: a few hundred KiB of text at a time. */
const WRITE_SLICE_ROWS = 1_000;

/**
 * Answers per tenant and normalized query (the parsed, defaulted values — so `?to=…&from=…`
 * and `?from=…&to=…&group_by=day&category=all` share one entry). Tenant scopes keep orgs
 * apart by construction.
 */
const cache = new TenantCache<CostsView>({ name: 'costs', ttlMs: Math.max(1, config.COSTS_CACHE_TTL_MS), maxEntriesPerTenant: 50 });

/** Cache counters (tests, benchmarks). */
export function costsCacheStats(): TenantCacheStats {
  return cache.stats();
}

defineHttpFunction('costs', {
  routes: [
    route({
      method: 'GET',
      path: '/v1/costs',
      summary: 'All spend of a date range — LLM usage and SaaS subscriptions — grouped by one key',
      description: '`from` ≤ `to`, at most 366 days counting both ends. Reads the org’s BigQuery data (user tier).',
      auth: authenticateTenant,
      query: costsQuery,
      responses: { 200: { description: 'The spend by key, and its totals', body: costsView } },
      handler: async ({ auth, query }) => {
        if (config.COSTS_CACHE_TTL_MS === 0) return { body: await loadCosts(auth, query) };
        const key = `${query.group_by}|${query.category}|${query.from}|${query.to}`;
        return { body: await cache.forTenant(auth.orgId).getOrLoad(key, () => loadCosts(auth, query)) };
      },
    }),
    route({
      method: 'GET',
      path: '/v1/costs/export',
      summary: 'The spend of a date range as FOCUS 1.2 rows (CSV or JSON lines), streamed',
      description:
        'One row per day × provider or vendor × model or plan × charge, with every mandatory FOCUS 1.2 column and `x_`-prefixed ones for what FOCUS has no column for. CSV is RFC 4180 with a header row.',
      auth: authenticateTenant,
      query: costsExportQuery,
      responses: {
        200: {
          description: 'The rows, streamed',
          media: ['text/csv', 'application/x-ndjson'],
          headers: { 'Content-Disposition': { description: 'Names the file: `attachment; filename="cloudact-focus-<org>-<from>-<to>.<format>"`', required: true } },
        },
      },
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
        // A batch is written a slice at a time: one string per batch was up to 35 MiB (bench:spend).
        const write = async (batch: readonly FocusRow[]): Promise<void> => {
          for (let i = 0; i < batch.length; i += WRITE_SLICE_ROWS) await writeChunk(res, batch.slice(i, i + WRITE_SLICE_ROWS).map(encode).join(''), deadline.signal);
        };
        if (first.done !== true) {
          await write(first.value);
          for await (const batch of batches) await write(batch);
        }
        return { body: STREAMED };
      },
    }),
  ],
});

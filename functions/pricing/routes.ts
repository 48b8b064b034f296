import { authenticateTenant } from '../../shared/auth/index.js';
import { NotFoundError } from '../../shared/errors/index.js';
import { decodeCursor, keysetPage, noQuery, route, withUtf8Body, type AnyRoute } from '../../shared/http/index.js';
import { catalogueEntries, isResolved, resolvePrice } from '../../shared/pricing/index.js';
import { apiEntry } from './apiEntry.js';
import type { PricingCache, PricingPage } from './cache.js';
import { ENTRY_KEY_ARITY, entryKey, listPricing } from './listPricing.js';
import { deleteQuery, entryPage, entryView, listQuery, modelParams, putBody, resolvedView, resolveQuery, type ListQuery } from './schema.js';
import { deleteOrgPrice, orgPriceEntriesOf, upsertOrgPrice } from './store.js';

const tenant = withUtf8Body(authenticateTenant);

/** A cursor is valid only for the org and the filters it was issued for. */
function cursorScope(orgId: string, { provider, model, source }: ListQuery): string {
  return `pricing|${orgId}|provider=${provider ?? ''}|model=${model ?? ''}|source=${source}`;
}

/** The cache key of a list request: every parameter, in a fixed order. */
function normalizedQuery({ provider, model, source, limit, cursor }: ListQuery): string {
  return `provider=${provider ?? ''}&model=${model ?? ''}&source=${source}&limit=${limit}&cursor=${cursor ?? ''}`;
}

async function loadPage(orgId: string, query: ListQuery): Promise<PricingPage> {
  return keysetPage({
    scope: cursorScope(orgId, query),
    cursor: query.cursor,
    limit: query.limit,
    arity: ENTRY_KEY_ARITY,
    load: (after, take) => listPricing(orgId, { provider: query.provider, model: query.model, source: query.source, after, take }),
    keyOf: entryKey,
  });
}

/**
 * The pricing routes: the list of org and catalogue entries (cached per tenant), the
 * resolution of the price in force for a usage row, and the org's upsert and delete (both
 * invalidate the org's cached pages).
 */
export function pricingRoutes(cache: PricingCache): AnyRoute[] {
  return [
    route({
      method: 'GET',
      path: '/v1/pricing',
      summary: 'List price entries: the org’s, then the shipped catalogue’s',
      auth: tenant,
      query: listQuery,
      responses: { 200: { description: 'A page of entries', body: entryPage } },
      handler: async ({ auth, query }) => {
        // Checked before the cache: a tampered cursor is a 400 even if nothing is cached.
        if (query.cursor !== undefined) decodeCursor(cursorScope(auth.orgId, query), query.cursor, ENTRY_KEY_ARITY);
        // Serialized once, by the request that loaded the page; its cache hits send that text.
        return { body: await cache.page(auth.orgId, normalizedQuery(query), () => loadPage(auth.orgId, query)) };
      },
    }),
    route({
      method: 'GET',
      path: '/v1/pricing/resolve',
      summary: 'The price in force for a usage row',
      description: 'The org’s entries first, then the catalogue; among matching entries for the tier, the newest `effective_from` on or before `date`. A tier without an entry is priced as the standard entry times the catalogue’s multiplier.',
      auth: tenant,
      query: resolveQuery,
      responses: { 200: { description: 'The entry and the effective price per class', body: resolvedView } },
      errors: ['NOT_FOUND'],
      handler: async ({ auth, query }) => {
        // Not cached: one primary-key range of the org's rows, read fresh so a write is
        // visible at once on every instance, not only the one that took it.
        const org = await orgPriceEntriesOf(auth.orgId, query.provider);
        const found = resolvePrice([...org, ...catalogueEntries()], {
          provider: query.provider,
          model: query.model,
          service_tier: query.service_tier,
          usage_date: query.date,
        });
        if (!isResolved(found)) throw new NotFoundError(found.reason);
        return { body: { entry: apiEntry(found.entry), multiplier: found.multiplier, per_class: found.per_class } };
      },
    }),
    route({
      method: 'PUT',
      path: '/v1/pricing/:provider/:model',
      summary: 'Create or replace the org’s entry for a model, tier and effective_from',
      auth: tenant,
      params: modelParams,
      query: noQuery,
      body: putBody,
      responses: { 200: { description: 'The org entry as stored', body: entryView } },
      handler: async ({ auth, params, body }) => {
        try {
          const entry = await upsertOrgPrice(auth.orgId, params.provider, params.model, body);
          return { status: 200, body: apiEntry(entry) };
        } finally {
          // Also after a failure: the write may have committed before the error reached us.
          cache.invalidate(auth.orgId);
        }
      },
    }),
    route({
      method: 'DELETE',
      path: '/v1/pricing/:provider/:model',
      summary: 'Delete the org’s entry for a model, tier and effective_from',
      auth: tenant,
      params: modelParams,
      query: deleteQuery,
      responses: { 204: { description: 'Deleted' } },
      errors: ['NOT_FOUND'],
      handler: async ({ auth, params, query }) => {
        let deleted = false;
        try {
          deleted = await deleteOrgPrice(auth.orgId, params.provider, params.model, query.service_tier, query.effective_from);
        } finally {
          cache.invalidate(auth.orgId);
        }
        if (!deleted) throw new NotFoundError('No such price entry for this org');
        return { status: 204 };
      },
    }),
  ];
}

import { authenticateTenant } from '../../shared/auth/index.js';
import { NotFoundError } from '../../shared/errors/index.js';
import { decodeCursor, keysetPage, noQuery, route, SerializedJson, withUtf8Body, type AnyRoute } from '../../shared/http/index.js';
import type { PricingCache, PricingPage } from './cache.js';
import { listQuery, modelParams, putBody, type ListQuery } from './schema.js';
import { deletePricing, listPricing, upsertPricing } from './store.js';

const tenant = withUtf8Body(authenticateTenant);

/** A cursor is valid only for the org and the provider filter it was issued for. */
function cursorScope(orgId: string, provider: string | undefined): string {
  return `pricing|${orgId}|provider=${provider ?? ''}`;
}

/** The cache key of a list request: every parameter, in a fixed order. */
function normalizedQuery({ provider, limit, cursor }: ListQuery): string {
  return `provider=${provider ?? ''}&limit=${limit}&cursor=${cursor ?? ''}`;
}

async function loadPage(orgId: string, query: ListQuery): Promise<PricingPage> {
  return keysetPage({
    scope: cursorScope(orgId, query.provider),
    cursor: query.cursor,
    limit: query.limit,
    arity: 2,
    load: (after, take) => listPricing(orgId, { provider: query.provider, after: after as [string, string] | undefined, take }),
    keyOf: (item) => [item.provider, item.model],
  });
}

/** Each page is serialized once, by the request that loaded it; its cache hits send that text. */
const serializedPages = new WeakMap<PricingPage, SerializedJson>();

function serialized(page: PricingPage): SerializedJson {
  let json = serializedPages.get(page);
  if (json === undefined) {
    json = new SerializedJson(page);
    serializedPages.set(page, json);
  }
  return json;
}

/** The pricing routes: list (cached per tenant), upsert and delete (both invalidate). */
export function pricingRoutes(cache: PricingCache): AnyRoute[] {
  return [
    route({
      method: 'GET',
      path: '/v1/pricing',
      auth: tenant,
      query: listQuery,
      handler: async ({ auth, query }) => {
        // Checked before the cache: a tampered cursor is a 400 even if nothing is cached.
        if (query.cursor !== undefined) decodeCursor(cursorScope(auth.orgId, query.provider), query.cursor, 2);
        const page = await cache.page(auth.orgId, normalizedQuery(query), () => loadPage(auth.orgId, query));
        return { body: serialized(page) };
      },
    }),
    route({
      method: 'PUT',
      path: '/v1/pricing/:provider/:model',
      auth: tenant,
      params: modelParams,
      query: noQuery,
      body: putBody,
      handler: async ({ auth, params, body }) => {
        try {
          const item = await upsertPricing(auth.orgId, params.provider, params.model, body);
          return { status: 200, body: item };
        } finally {
          // Also after a failure: the write may have committed before the error reached us.
          cache.invalidate(auth.orgId);
        }
      },
    }),
    route({
      method: 'DELETE',
      path: '/v1/pricing/:provider/:model',
      auth: tenant,
      params: modelParams,
      query: noQuery,
      handler: async ({ auth, params }) => {
        let deleted = false;
        try {
          deleted = await deletePricing(auth.orgId, params.provider, params.model);
        } finally {
          cache.invalidate(auth.orgId);
        }
        if (!deleted) throw new NotFoundError('No such price for this org');
        return { status: 204 };
      },
    }),
  ];
}

import { authenticateTenant } from '../../shared/auth/index.js';
import { getDb } from '../../shared/db/index.js';
import { InvalidArgumentError, NotFoundError } from '../../shared/errors/index.js';
import { keysetPage, noQuery, route, withUtf8Body, type AnyRoute } from '../../shared/http/index.js';
import { log } from '../../shared/log/index.js';
import {
  BULK_MAX_BODY_BYTES,
  bulkBody,
  bulkResult,
  createBody,
  idParams,
  listQuery,
  mergedRowProblem,
  patchBody,
  subscriptionPage,
  subscriptionView,
  type SubscriptionFields,
} from './schema.js';
import {
  deleteSubscription,
  getSubscription,
  insertSubscription,
  insertSubscriptions,
  listSubscriptions,
  lockSubscription,
  updateSubscription,
} from './store.js';

const tenant = withUtf8Body(authenticateTenant);

/** A cursor is valid only for the org and the status filter it was issued for. */
function cursorScope(orgId: string, status: string | undefined): string {
  return `subscriptions|${orgId}|status=${status ?? ''}`;
}

/** Another org's id is the same `404` as an id that never existed: no existence leak. */
function notFound(): NotFoundError {
  return new NotFoundError('Subscription not found');
}

/** The subscriptions routes: list, create, bulk import, read, patch, delete. */
export function subscriptionRoutes(): AnyRoute[] {
  return [
    route({
      method: 'GET',
      path: '/v1/subscriptions',
      summary: 'List the org’s subscriptions',
      auth: tenant,
      query: listQuery,
      responses: { 200: { description: 'A page of subscriptions', body: subscriptionPage } },
      handler: async ({ auth, query }) => {
        const page = await keysetPage({
          scope: cursorScope(auth.orgId, query.status),
          cursor: query.cursor,
          limit: query.limit,
          arity: 1,
          load: (after, take) => listSubscriptions(auth.orgId, { status: query.status, afterId: after?.[0], take }),
          keyOf: (item) => [item.id],
        });
        return { body: page };
      },
    }),
    route({
      method: 'POST',
      path: '/v1/subscriptions',
      summary: 'Add a subscription',
      auth: tenant,
      query: noQuery,
      body: createBody,
      responses: { 201: { description: 'The subscription as stored', body: subscriptionView } },
      handler: async ({ auth, body }) => ({ status: 201, body: await insertSubscription(auth.orgId, body) }),
    }),
    // Listed before `/:id` only for readability: the router matches literals and
    // parameters by method, so `POST /bulk` can never be taken for an id.
    route({
      method: 'POST',
      path: '/v1/subscriptions/bulk',
      summary: 'Import up to 5000 subscriptions, all or nothing',
      description: 'Any bad item is a 400 whose details name the item index and field; nothing is stored then (batch tier).',
      auth: tenant,
      query: noQuery,
      body: bulkBody,
      responses: { 200: { description: 'Every item was stored', body: bulkResult } },
      maxBodyBytes: BULK_MAX_BODY_BYTES,
      handler: async ({ auth, body }) => {
        const db = await getDb();
        // One transaction under the batch tier: every item or none.
        const created = await db.withTransaction((client) => insertSubscriptions(client, auth.orgId, body.items), { tier: 'batch' });
        log.info('Imported subscriptions', { created });
        return { status: 200, body: { created } };
      },
    }),
    route({
      method: 'GET',
      path: '/v1/subscriptions/:id',
      summary: 'Read a subscription',
      auth: tenant,
      params: idParams,
      query: noQuery,
      responses: { 200: { description: 'The subscription', body: subscriptionView } },
      errors: ['NOT_FOUND'],
      handler: async ({ auth, params }) => {
        const found = await getSubscription(auth.orgId, params.id);
        if (found === undefined) throw notFound();
        return { body: found };
      },
    }),
    route({
      method: 'PATCH',
      path: '/v1/subscriptions/:id',
      summary: 'Change some fields of a subscription',
      auth: tenant,
      params: idParams,
      query: noQuery,
      body: patchBody,
      responses: { 200: { description: 'The subscription as stored', body: subscriptionView } },
      errors: ['NOT_FOUND'],
      handler: async ({ auth, params, body }) => {
        const db = await getDb();
        const updated = await db.withTransaction(async (client) => {
          // Read-merge-validate-write under a row lock, so the cross-field rule holds for
          // the row as stored, even against a concurrent patch of the other date.
          const current = await lockSubscription(client, auth.orgId, params.id);
          if (current === undefined) throw notFound();
          const merged: SubscriptionFields = { ...current, ...body };
          const problem = mergedRowProblem(merged, body);
          if (problem !== undefined) throw new InvalidArgumentError(`Invalid body: ${problem.path}`, [problem]);
          return updateSubscription(client, auth.orgId, params.id, merged);
        });
        return { body: updated };
      },
    }),
    route({
      method: 'DELETE',
      path: '/v1/subscriptions/:id',
      summary: 'Delete a subscription',
      auth: tenant,
      params: idParams,
      query: noQuery,
      responses: { 204: { description: 'Deleted' } },
      errors: ['NOT_FOUND'],
      handler: async ({ auth, params }) => {
        if (!(await deleteSubscription(auth.orgId, params.id))) throw notFound();
        return { status: 204 };
      },
    }),
  ];
}

import { authenticateTenant } from '../../shared/auth/index.js';
import { getDb } from '../../shared/db/index.js';
import { InvalidArgumentError, NotFoundError } from '../../shared/errors/index.js';
import { keysetPage, noQuery, route, withUtf8Body, type AnyRoute } from '../../shared/http/index.js';
import { log } from '../../shared/log/index.js';
import { BULK_MAX_BODY_BYTES, bulkBody, createBody, idParams, listQuery, mergedRowProblem, patchBody, type SubscriptionFields } from './schema.js';
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
      auth: tenant,
      query: listQuery,
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
      auth: tenant,
      query: noQuery,
      body: createBody,
      handler: async ({ auth, body }) => ({ status: 201, body: await insertSubscription(auth.orgId, body) }),
    }),
    // Listed before `/:id` only for readability: the router matches literals and
    // parameters by method, so `POST /bulk` can never be taken for an id.
    route({
      method: 'POST',
      path: '/v1/subscriptions/bulk',
      auth: tenant,
      query: noQuery,
      body: bulkBody,
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
      auth: tenant,
      params: idParams,
      query: noQuery,
      handler: async ({ auth, params }) => {
        const found = await getSubscription(auth.orgId, params.id);
        if (found === undefined) throw notFound();
        return { body: found };
      },
    }),
    route({
      method: 'PATCH',
      path: '/v1/subscriptions/:id',
      auth: tenant,
      params: idParams,
      query: noQuery,
      body: patchBody,
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
      auth: tenant,
      params: idParams,
      query: noQuery,
      handler: async ({ auth, params }) => {
        if (!(await deleteSubscription(auth.orgId, params.id))) throw notFound();
        return { status: 204 };
      },
    }),
  ];
}

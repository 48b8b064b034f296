import { authenticateTenant } from '../../shared/auth/index.js';
import { budgetTerms, budgetView, loadBudgetStatus, rotateSigningSecret } from '../../shared/budgets/index.js';
import { InvalidArgumentError, NotFoundError } from '../../shared/errors/index.js';
import { keysetPage, noQuery, route, withUtf8Body, type AnyRoute } from '../../shared/http/index.js';
import { usdForApi } from '../../shared/money/index.js';
import { checkWebhookUrl, WebhookUrlError, type WebhookPolicy } from '../../shared/webhooks/index.js';
import { listAlerts } from './alertsStore.js';
import {
  alertPage,
  alertsQuery,
  budgetPage,
  budgetResponse,
  budgetStatusResponse,
  createBody,
  idParams,
  listQuery,
  patchBody,
  signingSecretResponse,
} from './schema.js';
import { deleteBudget, getBudget, insertBudget, listBudgets, updateBudget } from './store.js';

const tenant = withUtf8Body(authenticateTenant);

/** Another org's id is the same `404` as an id that never existed: no existence leak. */
function notFound(): NotFoundError {
  return new NotFoundError('Budget not found');
}

/** A webhook URL that may not be used is a `400` naming the field, checked before anything is stored. */
async function assertWebhookUrl(url: string, policy: WebhookPolicy): Promise<void> {
  try {
    await checkWebhookUrl(url, policy);
  } catch (error) {
    if (!(error instanceof WebhookUrlError)) throw error;
    throw new InvalidArgumentError(`Invalid body: webhook_url ${error.message}`, [{ path: 'webhook_url', message: error.message }]);
  }
}

const MICROS_PATTERN = /^\d{1,20}$/;

/** The budgets and alerts routes (API.md, "budgets and alerts"). */
export function budgetRoutes(policy: WebhookPolicy): AnyRoute[] {
  return [
    route({
      method: 'GET',
      path: '/v1/budgets',
      summary: 'List the org’s budgets',
      responses: { 200: { description: 'A page of budgets', body: budgetPage } },
      auth: tenant,
      query: listQuery,
      handler: async ({ auth, query }) => ({
        body: await keysetPage({
          scope: `budgets|${auth.orgId}`,
          cursor: query.cursor,
          limit: query.limit,
          arity: 1,
          load: (after, take) => listBudgets(auth.orgId, { afterId: after?.[0], take }),
          keyOf: (item) => [item.id],
        }),
      }),
    }),
    route({
      method: 'POST',
      path: '/v1/budgets',
      summary: 'Create a budget',
      description: 'The webhook URL must be https and resolve only to public addresses.',
      responses: { 201: { description: 'The budget as stored', body: budgetResponse } },
      auth: tenant,
      query: noQuery,
      body: createBody,
      handler: async ({ auth, body }) => {
        await assertWebhookUrl(body.webhook_url, policy);
        return { status: 201, body: await insertBudget(auth.orgId, body) };
      },
    }),
    route({
      method: 'GET',
      path: '/v1/budgets/:id',
      summary: 'Read a budget',
      responses: { 200: { description: 'The budget', body: budgetResponse } },
      errors: ['NOT_FOUND'],
      auth: tenant,
      params: idParams,
      query: noQuery,
      handler: async ({ auth, params }) => {
        const row = await getBudget(auth.orgId, params.id);
        if (row === undefined) throw notFound();
        return { body: budgetView(row) };
      },
    }),
    route({
      method: 'PATCH',
      path: '/v1/budgets/:id',
      summary: 'Change some fields of a budget',
      responses: { 200: { description: 'The budget as stored', body: budgetResponse } },
      errors: ['NOT_FOUND'],
      auth: tenant,
      params: idParams,
      query: noQuery,
      body: patchBody,
      handler: async ({ auth, params, body }) => {
        if (body.webhook_url !== undefined) await assertWebhookUrl(body.webhook_url, policy);
        const updated = await updateBudget(auth.orgId, params.id, body);
        if (updated === undefined) throw notFound();
        return { body: updated };
      },
    }),
    route({
      method: 'DELETE',
      path: '/v1/budgets/:id',
      summary: 'Delete a budget',
      responses: { 204: { description: 'Deleted' } },
      errors: ['NOT_FOUND'],
      auth: tenant,
      params: idParams,
      query: noQuery,
      handler: async ({ auth, params }) => {
        if (!(await deleteBudget(auth.orgId, params.id))) throw notFound();
        return { status: 204 };
      },
    }),
    route({
      method: 'GET',
      path: '/v1/budgets/:id/status',
      summary: 'The budget’s current period: spend, forecast and thresholds crossed',
      responses: { 200: { description: 'The status', body: budgetStatusResponse } },
      errors: ['NOT_FOUND'],
      auth: tenant,
      params: idParams,
      query: noQuery,
      handler: async ({ auth, params }) => {
        const row = await getBudget(auth.orgId, params.id);
        if (row === undefined) throw notFound();
        const status = await loadBudgetStatus(auth, budgetTerms(row));
        return {
          body: {
            period_start: status.period_start,
            period_end: status.period_end,
            spent_usd: usdForApi(status.spent),
            forecast_usd: usdForApi(status.forecast),
            pct: status.pct,
            crossed_pct: status.crossed_pct,
            next_threshold_pct: status.next_threshold_pct,
          },
        };
      },
    }),
    route({
      method: 'GET',
      path: '/v1/alerts',
      summary: 'List the org’s alerts with their delivery status',
      responses: { 200: { description: 'A page of alerts', body: alertPage } },
      auth: tenant,
      query: alertsQuery,
      handler: async ({ auth, query }) => {
        const page = await keysetPage({
          scope: `alerts|${auth.orgId}|budget=${query.budget_id ?? ''}|status=${query.status ?? ''}`,
          cursor: query.cursor,
          limit: query.limit,
          arity: 2,
          load: (after, take) => {
            const [createdMicros, id] = after ?? [];
            if (after !== undefined && (!MICROS_PATTERN.test(createdMicros ?? '') || !idParams.shape.id.safeParse(id).success)) {
              throw new InvalidArgumentError('Invalid query parameters: cursor', [{ path: 'cursor', message: 'is not a cursor returned by this list' }]);
            }
            const key = after === undefined ? undefined : { createdMicros: createdMicros as string, id: id as string };
            return listAlerts(auth.orgId, { budgetId: query.budget_id, status: query.status, after: key, take });
          },
          keyOf: (alert) => [alert.created_micros, alert.id],
        });
        return { body: { items: page.items.map(({ created_micros: _, ...alert }) => alert), next_cursor: page.next_cursor } };
      },
    }),
    route({
      method: 'POST',
      path: '/v1/alerts/signing-secret',
      summary: 'Create or rotate the org’s webhook signing secret',
      responses: { 201: { description: 'The new secret (shown this once)', body: signingSecretResponse } },
      auth: tenant,
      query: noQuery,
      handler: async ({ auth }) => ({ status: 201, body: await rotateSigningSecret(auth.orgId) }),
    }),
  ];
}

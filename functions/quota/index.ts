import { authenticateTenant } from '../../shared/auth/index.js';
import { TenantCache } from '../../shared/cache/index.js';
import { defineHttpFunction } from '../../shared/function/index.js';
import { noQuery, route, whenReady } from '../../shared/http/index.js';
import { loadQuota, type QuotaView } from './quota.js';
import { quotaView } from './schema.js';

/**
 * Quota is read on every pipeline page load and must answer in milliseconds; counters
 * move slowly, so a 2 s per-tenant cache takes the database off the hot path.
 */
const quotaCache = new TenantCache<QuotaView>({ name: 'quota', ttlMs: 2_000, maxEntriesPerTenant: 1 });

defineHttpFunction('quota', {
  routes: [
    route({
      method: 'GET',
      path: '/v1/quota',
      summary: 'Today’s pipeline runs against the plan’s limits',
      auth: authenticateTenant,
      query: noQuery,
      responses: { 200: { description: 'The org’s counters (cached for up to 2 s)', body: quotaView } },
      // A cache hit answers without a promise: this is the hottest route of the API.
      handler: ({ auth }) => whenReady(quotaCache.forTenant(auth.orgId).getOrLoad('today', () => loadQuota(auth)), (body) => ({ body })),
    }),
  ],
});

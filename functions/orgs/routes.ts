import type { z } from 'zod';
import { adminAuthenticator, authenticateTenant, forgetApiKey, generateApiKey, type Tenant } from '../../shared/auth/index.js';
import { TenantCache } from '../../shared/cache/index.js';
import { getDb } from '../../shared/db/index.js';
import { withBudget } from '../../shared/deadline/index.js';
import { NotFoundError } from '../../shared/errors/index.js';
import { noQuery, route, type AnyRoute } from '../../shared/http/index.js';
import { log } from '../../shared/log/index.js';
import { analyticsProvisioner } from './provision.js';
import { apiKeyList, keyIdParams, newApiKey, onboardBody, onboarded, orgProfile, type PLANS } from './schema.js';
import { createOrResumeOrg, insertApiKey, markActive, releaseOnboardingLease } from './store.js';

type OrgProfile = z.output<typeof orgProfile>;

/** Org profiles change rarely; a short TTL keeps `/me` off the database. */
const profiles = new TenantCache<OrgProfile>({ name: 'orgs.profiles', ttlMs: 10_000, maxEntriesPerTenant: 4 });

/**
 * Best effort, under its own short budget (the attempt's may be spent): if it fails, the
 * lease simply runs out and a retry succeeds a little later.
 */
async function releaseLease(orgId: string, orgSlug: string): Promise<void> {
  try {
    const db = await getDb();
    await db.withClient((client) => releaseOnboardingLease(client, orgId), { tier: 'auth' });
  } catch (error) {
    log.warn('Could not release the onboarding lease; a retry succeeds once it runs out', { org_slug: orgSlug, err: error });
  }
}

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

export function orgRoutes(adminToken: string): AnyRoute[] {
  const admin = adminAuthenticator(adminToken);
  return [
    route({
      method: 'POST',
      path: '/v1/orgs',
      summary: 'Onboard an org',
      description: 'Creates the org, its quota row, its first API key and its BigQuery dataset and tables (onboarding tier). A retry after a failure resumes the same onboarding.',
      auth: admin,
      query: noQuery,
      body: onboardBody,
      responses: { 201: { description: 'The org, and its first API key (shown this once)', body: onboarded } },
      errors: ['PERMISSION_DENIED', 'ALREADY_EXISTS'],
      handler: async ({ body }) => {
        // The whole onboarding — rows, first key, analytics — runs in the batch tier.
        return withBudget('batch', async (budget) => {
          const db = await getDb();
          // The lease outlives this attempt by a little, never less: a retry can only take
          // over once this attempt is surely over.
          const leaseSeconds = Math.ceil(budget.remainingMs() / 1000) + 5;
          const created = await db.withTransaction((client) => createOrResumeOrg(client, body, leaseSeconds), { tier: 'batch' });
          try {
            await analyticsProvisioner().provision(
              { id: created.org.id, org_slug: created.org.org_slug, name: created.org.name, plan: created.org.plan },
              budget.signal,
            );
            await db.withClient((client) => markActive(client, created.org.id), { tier: 'batch' });
          } catch (error) {
            await releaseLease(created.org.id, created.org.org_slug);
            throw error;
          }
          log.info('Onboarded an org', { org_slug: created.org.org_slug, plan: created.org.plan });
          return {
            status: 201,
            body: {
              org: {
                org_slug: created.org.org_slug,
                name: created.org.name,
                plan: created.org.plan as (typeof PLANS)[number],
                status: 'active',
                admin_email: created.org.admin_email,
                created_at: created.org.created_at.toISOString(),
              },
              api_key: { id: created.keyId, key: created.key.key, created_at: created.keyCreatedAt.toISOString() },
            },
          };
        });
      },
    }),
    route({
      method: 'GET',
      path: '/v1/orgs/me',
      summary: 'The caller’s org and its plan limits',
      auth: authenticateTenant,
      query: noQuery,
      responses: { 200: { description: 'The org', body: orgProfile } },
      errors: ['NOT_FOUND'],
      handler: async ({ auth }) => {
        const profile = await profiles.forTenant(auth.orgId).getOrLoad('profile', () => loadProfile(auth));
        return { body: profile };
      },
    }),
    route({
      method: 'GET',
      path: '/v1/orgs/me/api-keys',
      summary: 'List the org’s API keys',
      auth: authenticateTenant,
      query: noQuery,
      responses: { 200: { description: 'The keys, oldest first (at most 500)', body: apiKeyList } },
      handler: async ({ auth }) => {
        const db = await getDb();
        const { rows } = await db.query<{ id: string; prefix: string; created_at: Date; last_used_at: Date | null; revoked_at: Date | null }>(
          `SELECT id, prefix, created_at, last_used_at, revoked_at FROM api_keys
            WHERE org_id = $1 ORDER BY created_at, id LIMIT 500`,
          [auth.orgId],
        );
        return {
          body: {
            items: rows.map((r) => ({
              id: r.id,
              prefix: r.prefix,
              created_at: r.created_at.toISOString(),
              last_used_at: iso(r.last_used_at),
              revoked_at: iso(r.revoked_at),
            })),
          },
        };
      },
    }),
    route({
      method: 'POST',
      path: '/v1/orgs/me/api-keys',
      summary: 'Create an API key',
      auth: authenticateTenant,
      query: noQuery,
      responses: { 201: { description: 'The new key (shown this once)', body: newApiKey } },
      handler: async ({ auth }) => {
        const key = generateApiKey();
        const row = await insertApiKey(await getDb(), auth.orgId, key);
        return { status: 201, body: { id: row.id, key: key.key, created_at: row.created_at.toISOString() } };
      },
    }),
    route({
      method: 'DELETE',
      path: '/v1/orgs/me/api-keys/:id',
      summary: 'Revoke an API key',
      description: 'At once on this instance, everywhere within the auth-cache TTL.',
      auth: authenticateTenant,
      params: keyIdParams,
      query: noQuery,
      responses: { 204: { description: 'Revoked (also when it already was)' } },
      errors: ['NOT_FOUND'],
      handler: async ({ auth, params }) => {
        const db = await getDb();
        // Scoped by org: another org's key id is simply not found (no existence leak).
        const { rows } = await db.query<{ key_hash: Buffer }>(
          `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
            WHERE id = $1 AND org_id = $2 RETURNING key_hash`,
          [params.id, auth.orgId],
        );
        const row = rows[0];
        if (row === undefined) throw new NotFoundError('API key not found');
        forgetApiKey(row.key_hash);
        return { status: 204 };
      },
    }),
  ];
}

async function loadProfile(auth: Tenant): Promise<OrgProfile> {
  const db = await getDb();
  const { rows } = await db.query<{
    org_slug: string;
    name: string;
    plan: string;
    status: string;
    created_at: Date;
    daily_pipeline_runs: number;
    concurrent_pipelines: number;
  }>(
    `SELECT o.org_slug, o.name, o.plan, o.status, o.created_at, p.daily_pipeline_runs, p.concurrent_pipelines
       FROM orgs o JOIN plan_limits p ON p.plan = o.plan WHERE o.id = $1`,
    [auth.orgId],
  );
  const row = rows[0];
  if (row === undefined) throw new NotFoundError('Org not found');
  return {
    org_slug: row.org_slug,
    name: row.name,
    plan: row.plan as (typeof PLANS)[number],
    status: row.status,
    created_at: row.created_at.toISOString(),
    limits: { daily_pipeline_runs: row.daily_pipeline_runs, concurrent_pipelines: row.concurrent_pipelines },
  };
}

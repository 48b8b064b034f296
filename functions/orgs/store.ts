import { generateApiKey, type NewApiKey } from '../../shared/auth/index.js';
import type { DbClient } from '../../shared/db/index.js';
import { isUniqueViolation } from '../../shared/db/index.js';
import { AlreadyExistsError } from '../../shared/errors/index.js';
import type { OnboardBody } from './schema.js';

export interface OrgRow {
  id: string;
  org_slug: string;
  name: string;
  plan: string;
  status: string;
  admin_email: string;
  created_at: Date;
}

const ORG_COLUMNS = 'id, org_slug, name, plan, status, admin_email, created_at';

/**
 * Writes the org, today's quota row and a first key, in the caller's transaction, and takes
 * the onboarding lease for `leaseSeconds` (the attempt's time left).
 *
 * A slug already taken by an org that finished onboarding is `ALREADY_EXISTS`. One left in
 * `onboarding` by a failed attempt with the same admin e-mail is resumed — keys from the
 * failed attempt (never shown to anyone) are revoked and a fresh one is issued — but only
 * once that attempt gave up its lease (it failed) or the lease ran out (it died). While an
 * attempt is still running, a second one is `ALREADY_EXISTS` too: taking over would revoke
 * the key the first is about to return.
 */
export async function createOrResumeOrg(
  client: DbClient,
  input: OnboardBody,
  leaseSeconds: number,
): Promise<{ org: OrgRow; key: NewApiKey; keyId: string; keyCreatedAt: Date }> {
  let org: OrgRow | undefined;
  try {
    const inserted = await client.query<OrgRow>(
      `INSERT INTO orgs (org_slug, name, plan, admin_email, status, onboarding_lease_until)
       VALUES ($1, $2, $3, $4, 'onboarding', now() + make_interval(secs => $5))
       ON CONFLICT (org_slug) DO NOTHING RETURNING ${ORG_COLUMNS}`,
      [input.org_slug, input.name, input.plan, input.admin_email, leaseSeconds],
    );
    org = inserted.rows[0];
  } catch (error) {
    if (isUniqueViolation(error)) throw new AlreadyExistsError(`The org slug ${input.org_slug} is taken`, error);
    throw error;
  }
  if (org === undefined) {
    const existing = await client.query<OrgRow & { leased: boolean }>(
      `SELECT ${ORG_COLUMNS}, coalesce(onboarding_lease_until > now(), false) AS leased
         FROM orgs WHERE org_slug = $1 FOR UPDATE`,
      [input.org_slug],
    );
    const row = existing.rows[0];
    if (row === undefined || row.status !== 'onboarding' || row.admin_email !== input.admin_email) {
      throw new AlreadyExistsError(`The org slug ${input.org_slug} is taken`);
    }
    if (row.leased) {
      throw new AlreadyExistsError(`The org slug ${input.org_slug} is being onboarded by another request; if it fails, send this request again`);
    }
    await client.query(`UPDATE api_keys SET revoked_at = now() WHERE org_id = $1 AND revoked_at IS NULL`, [row.id]);
    await client.query(
      `UPDATE orgs SET name = $2, plan = $3, onboarding_lease_until = now() + make_interval(secs => $4), updated_at = now() WHERE id = $1`,
      [row.id, input.name, input.plan, leaseSeconds],
    );
    org = { ...row, name: input.name, plan: input.plan };
  }
  await client.query(
    `INSERT INTO usage_quotas (org_id, usage_date) VALUES ($1, (now() AT TIME ZONE 'UTC')::date) ON CONFLICT DO NOTHING`,
    [org.id],
  );
  const key = generateApiKey();
  const keyRow = await insertApiKey(client, org.id, key);
  return { org, key, keyId: keyRow.id, keyCreatedAt: keyRow.created_at };
}

/**
 * Stores a new API key of an org (its hash and display prefix; the key itself is never
 * stored). Takes a transaction's client or the pool alike.
 */
export async function insertApiKey(client: Pick<DbClient, 'query'>, orgId: string, key: NewApiKey): Promise<{ id: string; created_at: Date }> {
  const { rows } = await client.query<{ id: string; created_at: Date }>(
    `INSERT INTO api_keys (org_id, key_hash, prefix) VALUES ($1, $2, $3) RETURNING id, created_at`,
    [orgId, key.hash, key.prefix],
  );
  return rows[0] as { id: string; created_at: Date };
}

export async function markActive(client: DbClient, orgId: string): Promise<void> {
  await client.query(
    `UPDATE orgs SET status = 'active', bigquery_ready_at = now(), onboarding_lease_until = NULL, updated_at = now() WHERE id = $1`,
    [orgId],
  );
}

/** A failed attempt gives up its lease, so the same request sent again can finish the org. */
export async function releaseOnboardingLease(client: DbClient, orgId: string): Promise<void> {
  await client.query(`UPDATE orgs SET onboarding_lease_until = NULL WHERE id = $1 AND status = 'onboarding'`, [orgId]);
}

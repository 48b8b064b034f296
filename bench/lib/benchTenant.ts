import type pg from 'pg';
import { generateApiKey } from '../../shared/auth/index.js';

/** An org made for a benchmark, with one API key. */
export interface BenchTenant {
  orgId: string;
  slug: string;
  /** The key itself, for `Authorization: Bearer …`. */
  key: string;
}

/**
 * Inserts `count` active `pro` orgs named `<prefix>_<n>`, each with one API key, in one
 * statement per 1,000 (a soak over 10,000 tenants must not spend minutes onboarding them).
 */
export async function createBenchTenants(admin: pg.Client, prefix: string, count = 1): Promise<BenchTenant[]> {
  const tenants: BenchTenant[] = [];
  for (let start = 0; start < count; start += 1000) {
    const n = Math.min(1000, count - start);
    const slugs = Array.from({ length: n }, (_, i) => `${prefix}_${start + i}`);
    const keys = slugs.map(() => generateApiKey());
    const orgs = await admin.query<{ id: string; org_slug: string }>(
      `INSERT INTO orgs (org_slug, name, plan, admin_email, status)
       SELECT s, 'Bench ' || s, 'pro', 'bench@example.com', 'active' FROM unnest($1::text[]) AS s
       RETURNING id, org_slug`,
      [slugs],
    );
    const idOf = new Map(orgs.rows.map((r) => [r.org_slug, r.id]));
    await admin.query(
      `INSERT INTO api_keys (org_id, key_hash, prefix) SELECT * FROM unnest($1::uuid[], $2::bytea[], $3::text[])`,
      [slugs.map((s) => idOf.get(s)), keys.map((k) => k.hash), keys.map((k) => k.prefix)],
    );
    slugs.forEach((slug, i) => tenants.push({ orgId: idOf.get(slug) as string, slug, key: (keys[i] as { key: string }).key }));
  }
  return tenants;
}

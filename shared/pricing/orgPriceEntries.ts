import type { Queryable } from '../db/index.js';
import type { ServiceTier } from '../usage/index.js';
import { trimDecimal } from '../money/index.js';
import { PRICE_CLASSES, type MatchMode, type PriceEntry, type PricesPerMtok } from './PriceEntry.js';

/** The columns of an org entry, prices as exact text (`numeric::text`, never `float8`). */
export const ORG_PRICE_COLUMNS = `provider, model, match, service_tier, to_char(effective_from, 'YYYY-MM-DD') AS effective_from,
       ${PRICE_CLASSES.map((c) => `${c}::text AS ${c}`).join(', ')}, updated_at`;

/** A row of `llm_prices` read with {@link ORG_PRICE_COLUMNS}. */
export type OrgPriceRow = {
  provider: string;
  model: string;
  match: MatchMode;
  service_tier: ServiceTier;
  effective_from: string;
  updated_at: Date;
} & Record<(typeof PRICE_CLASSES)[number], string | null>;

/** An `llm_prices` row as the entry the API shows and pricing uses (prices without trailing zeros). */
export function orgPriceEntry(row: OrgPriceRow): PriceEntry {
  const prices: Record<string, string> = {};
  for (const c of PRICE_CLASSES) {
    const value = row[c];
    if (value !== null) prices[c] = trimDecimal(value);
  }
  return {
    provider: row.provider,
    model: row.model,
    match: row.match,
    service_tier: row.service_tier,
    effective_from: row.effective_from,
    prices_per_mtok_usd: prices as PricesPerMtok,
    source: 'org',
    updated_at: row.updated_at.toISOString(),
  };
}

/**
 * The org's own entries for the given providers, every tier and date: an org has at most a
 * few hundred, so the whole set is read at once (one primary-key range per provider). Runs
 * under whatever budget `db` applies.
 */
export async function loadOrgPriceEntries(db: Queryable, orgId: string, providers: readonly string[]): Promise<PriceEntry[]> {
  if (providers.length === 0) return [];
  const { rows } = await db.query<OrgPriceRow>(`SELECT ${ORG_PRICE_COLUMNS} FROM llm_prices WHERE org_id = $1 AND provider = ANY($2::text[])`, [orgId, [...providers]]);
  return rows.map(orgPriceEntry);
}

import { getDb, type SqlParam } from '../../shared/db/index.js';
import { loadOrgPriceEntries, ORG_PRICE_COLUMNS, orgPriceEntry, PRICE_CLASSES, type OrgPriceRow, type PriceEntry } from '../../shared/pricing/index.js';
import type { PutBody } from './schema.js';

/** Where an org page starts: after (or at) an entry key without its source. */
export interface OrgListStart {
  /** provider, model, service_tier, effective_from. */
  key: readonly [string, string, string, string];
  /** Also take the row whose key equals `key` (the cursor's last item was a catalogue entry that sorts before it). */
  inclusive: boolean;
}

export interface OrgListRequest {
  provider: string | undefined;
  model: string | undefined;
  start: OrgListStart | undefined;
  take: number;
}

/**
 * Up to `take` of the org's entries from `start`, in (provider, model, service_tier,
 * effective_from) order — the primary key's columns, so a page is one range of the org's
 * rows with a LIMIT, never the whole table.
 *
 * The text columns are compared and sorted `COLLATE "C"` (byte order), because the page
 * is merged in memory with the catalogue, ordered by JavaScript's string comparison; the
 * two agree for the ASCII the provider and model patterns allow. Under a database whose
 * default collation is not C the planner sorts the org's rows (a few hundred at most)
 * instead of reading the primary key in order.
 */
export async function listOrgPrices(orgId: string, { provider, model, start, take }: OrgListRequest): Promise<PriceEntry[]> {
  const params: SqlParam[] = [orgId];
  const where = ['p.org_id = $1'];
  const param = (value: SqlParam): string => {
    params.push(value);
    return `$${params.length}`;
  };
  if (provider !== undefined) where.push(`p.provider = ${param(provider)}`);
  if (model !== undefined) where.push(`p.model = ${param(model)}`);
  if (start !== undefined) {
    const [p, m, t, e] = start.key;
    where.push(
      `(p.provider COLLATE "C", p.model COLLATE "C", p.service_tier COLLATE "C", p.effective_from) ${start.inclusive ? '>=' : '>'} (${param(p)}, ${param(m)}, ${param(t)}, ${param(e)}::date)`,
    );
  }
  const limit = param(take);
  const db = await getDb();
  const { rows } = await db.query<OrgPriceRow>(
    `SELECT ${ORG_PRICE_COLUMNS}
       FROM llm_prices p
      WHERE ${where.join(' AND ')}
      ORDER BY p.provider COLLATE "C", p.model COLLATE "C", p.service_tier COLLATE "C", p.effective_from
      LIMIT ${limit}`,
    params,
  );
  return rows.map(orgPriceEntry);
}

/** The org's entries of one provider (every model, tier and date), to resolve a price over. */
export async function orgPriceEntriesOf(orgId: string, provider: string): Promise<PriceEntry[]> {
  return loadOrgPriceEntries(await getDb(), orgId, [provider]);
}

/**
 * Creates or replaces the org's entry for (provider, model, tier, effective_from): `match`
 * and every price are replaced, a class left out is cleared. Prices go in as the exact text
 * sent; the entry comes back as stored.
 */
export async function upsertOrgPrice(orgId: string, provider: string, model: string, body: PutBody): Promise<PriceEntry> {
  const prices = PRICE_CLASSES.map((c) => body.prices_per_mtok_usd[c] ?? null);
  const priceParams = PRICE_CLASSES.map((_, i) => `$${i + 7}::numeric`).join(', ');
  const db = await getDb();
  const { rows } = await db.query<OrgPriceRow>(
    `INSERT INTO llm_prices (org_id, provider, model, service_tier, effective_from, match, ${PRICE_CLASSES.join(', ')}, updated_at)
     VALUES ($1, $2, $3, $4, $5::date, $6, ${priceParams}, now())
     ON CONFLICT (org_id, provider, model, service_tier, effective_from) DO UPDATE
        SET match = EXCLUDED.match,
            ${PRICE_CLASSES.map((c) => `${c} = EXCLUDED.${c}`).join(',\n            ')},
            updated_at = EXCLUDED.updated_at
     RETURNING ${ORG_PRICE_COLUMNS}`,
    [orgId, provider, model, body.service_tier, body.effective_from, body.match, ...prices],
  );
  return orgPriceEntry(rows[0] as OrgPriceRow);
}

/** Deletes one entry of the org; false when the org has no such entry. */
export async function deleteOrgPrice(orgId: string, provider: string, model: string, serviceTier: string, effectiveFrom: string): Promise<boolean> {
  const db = await getDb();
  const { rowCount } = await db.query(
    `DELETE FROM llm_prices WHERE org_id = $1 AND provider = $2 AND model = $3 AND service_tier = $4 AND effective_from = $5::date`,
    [orgId, provider, model, serviceTier, effectiveFrom],
  );
  return (rowCount ?? 0) > 0;
}

import { getDb } from '../../shared/db/index.js';
import type { SqlParam } from '../../shared/db/index.js';

/** One price as the API shows it. Prices are JSON numbers (`numeric` read as `float8`). */
export interface PricingItem {
  provider: string;
  model: string;
  input_per_1k_usd: number;
  output_per_1k_usd: number;
  updated_at: string;
}

interface PricingRow {
  provider: string;
  model: string;
  input_per_1k_usd: number;
  output_per_1k_usd: number;
  updated_at: Date;
}

/**
 * `numeric` → `float8` in SQL so the driver hands over numbers: the API promises JSON
 * numbers, and `numeric(20,10)` values of real prices fit a double's 15–17 digits.
 */
const COLUMNS = `provider, model, input_per_1k_usd::float8 AS input_per_1k_usd,
       output_per_1k_usd::float8 AS output_per_1k_usd, updated_at`;

function toItem(row: PricingRow): PricingItem {
  return {
    provider: row.provider,
    model: row.model,
    input_per_1k_usd: row.input_per_1k_usd,
    output_per_1k_usd: row.output_per_1k_usd,
    updated_at: row.updated_at.toISOString(),
  };
}

export interface PageRequest {
  provider: string | undefined;
  /** The last (provider, model) of the previous page. */
  after: readonly [string, string] | undefined;
  /** Rows to fetch (`keysetPage` asks for one more than the page). */
  take: number;
}

/**
 * Up to `take` prices after `after`, in (provider, model) order — the primary key's order,
 * so a page is an index range scan; `keysetPage` (shared/http) makes the page and cursor.
 */
export async function listPricing(orgId: string, { provider, after, take }: PageRequest): Promise<PricingItem[]> {
  const params: SqlParam[] = [orgId];
  const where = ['org_id = $1'];
  if (provider !== undefined) {
    params.push(provider);
    where.push(`provider = $${params.length}`);
  }
  if (after !== undefined) {
    params.push(after[0], after[1]);
    where.push(`(provider, model) > ($${params.length - 1}, $${params.length})`);
  }
  params.push(take);
  const db = await getDb();
  const { rows } = await db.query<PricingRow>(
    `SELECT ${COLUMNS} FROM llm_pricing WHERE ${where.join(' AND ')} ORDER BY provider, model LIMIT $${params.length}`,
    params,
  );
  return rows.map(toItem);
}

/** Creates or replaces one price; returns it as stored (rounded to the column's scale). */
export async function upsertPricing(
  orgId: string,
  provider: string,
  model: string,
  prices: { input_per_1k_usd: number; output_per_1k_usd: number },
): Promise<PricingItem> {
  const db = await getDb();
  const { rows } = await db.query<PricingRow>(
    `INSERT INTO llm_pricing (org_id, provider, model, input_per_1k_usd, output_per_1k_usd, updated_at)
     VALUES ($1, $2, $3, $4, $5, now())
     ON CONFLICT (org_id, provider, model) DO UPDATE
        SET input_per_1k_usd = EXCLUDED.input_per_1k_usd,
            output_per_1k_usd = EXCLUDED.output_per_1k_usd,
            updated_at = EXCLUDED.updated_at
     RETURNING ${COLUMNS}`,
    [orgId, provider, model, prices.input_per_1k_usd, prices.output_per_1k_usd],
  );
  return toItem(rows[0] as PricingRow);
}

/** Deletes one price of the org; false when the org has no such price. */
export async function deletePricing(orgId: string, provider: string, model: string): Promise<boolean> {
  const db = await getDb();
  const { rowCount } = await db.query(`DELETE FROM llm_pricing WHERE org_id = $1 AND provider = $2 AND model = $3`, [orgId, provider, model]);
  return (rowCount ?? 0) > 0;
}

import type { QueryResult, QueryResultRow } from 'pg';
import type { SqlParam } from '../db/index.js';
import { pricingKey, type ModelPrice, type PricingTable } from './priceRows.js';

/** Anything that runs a parameterised query: the pool from `getDb()`, or a checked-out client. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: readonly SqlParam[]): Promise<QueryResult<R>>;
}

/**
 * Prices as text: `numeric(20,10)` read as `float8` (what the pricing API shows) would
 * round; `::text` hands over the stored decimal exactly, for {@link priceRows}.
 */
const LOAD_PRICING_SQL = `SELECT provider, model, input_per_1k_usd::text AS input_per_1k_usd, output_per_1k_usd::text AS output_per_1k_usd
  FROM llm_pricing
 WHERE org_id = $1 AND provider = ANY($2::text[])`;

/**
 * The org's prices for the given providers (e.g. a fetch's `providersCovered`), keyed by
 * {@link pricingKey}. One primary-key range per provider; an org has at most a few hundred
 * prices, so the whole set is read at once. Runs under whatever budget `db` applies.
 */
export async function loadPricing(db: Queryable, orgId: string, providers: readonly string[]): Promise<PricingTable> {
  if (providers.length === 0) return new Map();
  const { rows } = await db.query<{ provider: string; model: string } & ModelPrice>(LOAD_PRICING_SQL, [orgId, [...providers]]);
  return new Map(rows.map((r) => [pricingKey(r.provider, r.model), { input_per_1k_usd: r.input_per_1k_usd, output_per_1k_usd: r.output_per_1k_usd }]));
}

import type { z } from 'zod';
import type { Tenant } from '../../shared/auth/index.js';
import { dateParam, isNotFound, runQuery } from '../../shared/bigquery/index.js';
import { log } from '../../shared/log/index.js';
import { parseUsd, sumUsd, usdForApi, type Nanos } from '../../shared/money/index.js';
import { INPUT_CLASSES, OUTPUT_CLASSES, sumClasses, TOKEN_CLASSES, type TokenClass, type TokenCounts } from '../../shared/usage/index.js';
import { costsSql } from './costsSql.js';
import { accrue, loadAccruingSubscriptions, type AccrualKey } from '../../shared/spend/index.js';
import { dayNumber } from './schema.js';
import type { costRow, costsView, costTotals, CostsQuery, GroupBy } from './schema.js';

export type CostRow = z.output<typeof costRow>;
export type CostTotals = z.output<typeof costTotals>;
/** The answer of `GET /v1/costs`. */
export type CostsView = z.output<typeof costsView>;

/** One row of `costsSql`'s answer: INT64 sums as numbers, NUMERIC sums as decimal text; NULL where a side has no row for the key. */
type ResultRow = { key: string; cost_usd: string | null; demo_cost_usd: string | null; billed_cost_usd: string | null; requests: number | null; unpriced_tokens: number | null } & Record<
  TokenClass,
  number | null
>;

/**
 * Runs the LLM statement. An org whose dataset does not exist yet (onboarding unfinished)
 * has no costs: no rows. An org whose dataset predates the billed table (created by its next
 * pipeline run or `bq:migrate`) still shows its usage, with no billed figure: answering
 * empty there would show $0 for real spend.
 */
async function queryLlm(tenant: Tenant, query: CostsQuery): Promise<ResultRow[]> {
  const params = { from: await dateParam(query.from), to: await dateParam(query.to) };
  const run = (billed: boolean): Promise<ResultRow[]> =>
    runQuery<ResultRow>({
      sql: costsSql(tenant.orgSlug, query.group_by, { billed }),
      params,
      tier: 'user',
      labels: { endpoint: 'costs', group_by: query.group_by, category: query.category },
    });
  try {
    return await run(true);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  try {
    const rows = await run(false);
    log.warn('The org has usage but no billed-cost table yet; answering without billed figures', { org_slug: tenant.orgSlug });
    return rows;
  } catch (error) {
    if (!isNotFound(error)) throw error;
    log.info('The org has no usage table yet; answering empty costs', { org_slug: tenant.orgSlug });
    return [];
  }
}

const nanosOf = (decimal: string | null): Nanos => (decimal === null ? 0n : parseUsd(decimal));

/** The key SaaS spend takes under each grouping: it has no model, tier or project of its own. */
const SAAS_KEY: Record<GroupBy, string> = {
  day: 'day',
  category: 'saas',
  provider: 'vendor',
  vendor: 'vendor',
  model: 'plan',
  service_tier: '(none)',
  project: '(none)',
  source: 'saas',
};

/**
 * What the org's subscriptions accrued over the range, up to today (UTC): computed at read
 * time from PostgreSQL (see README, "SaaS spend": 5,000 subscriptions over 366 days is
 * ~65,000 exact shares, milliseconds), keyed for the grouping.
 */
async function saasAccrual(tenant: Tenant, query: CostsQuery): Promise<Map<string, Nanos>> {
  const today = new Date().toISOString().slice(0, 10);
  const to = query.to < today ? query.to : today;
  if (to < query.from) return new Map();
  const subs = await loadAccruingSubscriptions(tenant.orgId, query.from, to);
  const keyed = SAAS_KEY[query.group_by];
  const mode: AccrualKey = keyed === 'day' || keyed === 'vendor' || keyed === 'plan' ? keyed : 'constant';
  const amounts = accrue(subs, dayNumber(query.from) as number, dayNumber(to) as number, mode);
  return mode === 'constant' ? new Map([...amounts.values()].map((v) => [keyed, v])) : amounts;
}

/**
 * Adds SaaS spend to the rows — onto the LLM row of the same key (exactly, then rounded
 * once), or as a row of its own — and keeps them ordered by key.
 */
function mergeSaas(rows: CostRow[], llmExact: ReadonlyMap<string, Nanos>, saasByKey: ReadonlyMap<string, Nanos>): void {
  if (saasByKey.size === 0) return;
  const byKey = new Map(rows.map((r) => [r.key, r]));
  for (const [key, nanos] of saasByKey) {
    const row = byKey.get(key);
    if (row === undefined) {
      const tokens = Object.fromEntries(TOKEN_CLASSES.map((c) => [c, 0])) as TokenCounts;
      rows.push({ key, cost_usd: usdForApi(nanos), billed_cost_usd: null, requests: 0, input_tokens: 0, output_tokens: 0, tokens, unpriced_tokens: 0 });
    } else {
      row.cost_usd = usdForApi((llmExact.get(key) ?? 0n) + nanos);
    }
  }
  rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * The tenant's costs over `from`…`to` (both included), grouped and ordered by key, under
 * the user tier. Money is summed as exact nano-dollars and each number is rounded once, at
 * the end (`usdForApi`), so the totals are the rounded exact sums, not sums of rounded rows.
 */
export async function loadCosts(tenant: Tenant, query: CostsQuery): Promise<CostsView> {
  const [result, saasByKey] = await Promise.all([
    query.category === 'saas' ? Promise.resolve([]) : queryLlm(tenant, query),
    query.category === 'llm' ? Promise.resolve(new Map<string, Nanos>()) : saasAccrual(tenant, query),
  ]);

  const cost: Nanos[] = [];
  /** Each LLM row's exact cost: SaaS spend of the same key is added to it before rounding. */
  const exactByKey = new Map<string, Nanos>();
  const demo: Nanos[] = [];
  const billed: Nanos[] = [];
  let unpriced = 0;
  const rows = result.map((row): CostRow => {
    const rowCost = nanosOf(row.cost_usd);
    const rowBilled = row.billed_cost_usd === null ? null : parseUsd(row.billed_cost_usd);
    cost.push(rowCost);
    exactByKey.set(row.key, rowCost);
    demo.push(nanosOf(row.demo_cost_usd));
    if (rowBilled !== null) billed.push(rowBilled);
    const tokens = Object.fromEntries(TOKEN_CLASSES.map((c) => [c, Number(row[c] ?? 0)])) as TokenCounts;
    const unpricedTokens = Number(row.unpriced_tokens ?? 0);
    unpriced += unpricedTokens;
    return {
      key: row.key,
      cost_usd: usdForApi(rowCost),
      billed_cost_usd: rowBilled === null ? null : usdForApi(rowBilled),
      requests: Number(row.requests ?? 0),
      input_tokens: sumClasses(tokens, INPUT_CLASSES),
      output_tokens: sumClasses(tokens, OUTPUT_CLASSES),
      tokens,
      unpriced_tokens: unpricedTokens,
    };
  });

  const llm = sumUsd(cost);
  const saas = sumUsd(saasByKey.values());
  mergeSaas(rows, exactByKey, saasByKey);
  const totalCost = usdForApi(llm + saas);
  return {
    from: query.from,
    to: query.to,
    group_by: query.group_by,
    currency: 'USD',
    rows,
    total_cost_usd: totalCost,
    totals: {
      cost_usd: totalCost,
      llm_cost_usd: usdForApi(llm),
      saas_cost_usd: usdForApi(saas),
      demo_cost_usd: usdForApi(sumUsd(demo)),
      billed_cost_usd: billed.length === 0 ? null : usdForApi(sumUsd(billed)),
      unpriced_tokens: unpriced,
    },
  };
}

import { LLM_USAGE_DAILY, orgDatasetId } from '../analytics/index.js';
import { dateParam, isNotFound, runQuery } from '../bigquery/index.js';
import type { Tier } from '../deadline/index.js';
import { parseUsd, type Nanos } from '../money/index.js';
import { dayIndex, utcDay } from './days.js';
import { accrueDailyByPlan } from './saasAccrual.js';
import { loadAccruingSubscriptions } from './saasStore.js';

/** One day's spend of one provider and model (LLM) or one vendor and plan (SaaS), exact. */
export interface SpendLine {
  /** `YYYY-MM-DD`. */
  day: string;
  category: 'llm' | 'saas';
  /** The LLM provider; null for a subscription. */
  provider: string | null;
  /** The model as reported; null for a subscription. */
  model: string | null;
  /** The provider (LLM) or the subscription's vendor (SaaS), as `/v1/costs` keys `vendor`. */
  vendor: string;
  nanos: Nanos;
}

/** Whose spend: the org's id (PostgreSQL) and slug (its BigQuery dataset). */
export interface SpendOwner {
  orgId: string;
  orgSlug: string;
}

/**
 * The org's spend over `from`…`to` (both included) by day: its priced LLM usage summed per
 * day, provider and model in one BigQuery statement (whatever scopes are asked of it later,
 * so one query serves any number of budgets), and its subscriptions' daily accrual up to
 * today (UTC), exactly as `/v1/costs` counts them. An org with no usage table yet has no
 * LLM spend.
 */
export async function loadDailySpend(owner: SpendOwner, from: string, to: string, { tier = 'user' }: { tier?: Tier } = {}): Promise<SpendLine[]> {
  const today = utcDay();
  const saasTo = to < today ? to : today;
  const [llm, subs] = await Promise.all([
    queryLlmSpend(owner.orgSlug, from, to, tier),
    saasTo < from ? Promise.resolve([]) : loadAccruingSubscriptions(owner.orgId, from, saasTo),
  ]);
  const lines: SpendLine[] = llm;
  for (const accrual of accrueDailyByPlan(subs, dayIndex(from), dayIndex(saasTo))) {
    lines.push({ day: accrual.day, category: 'saas', provider: null, model: null, vendor: accrual.vendor, nanos: accrual.nanos });
  }
  return lines;
}

async function queryLlmSpend(orgSlug: string, from: string, to: string, tier: Tier): Promise<SpendLine[]> {
  try {
    const rows = await runQuery<{ day: string; provider: string; model: string; cost_usd: string | null }>({
      sql: `SELECT CAST(usage_date AS STRING) AS day, provider, model, CAST(SUM(cost_usd) AS STRING) AS cost_usd
  FROM \`${orgDatasetId(orgSlug)}.${LLM_USAGE_DAILY.tableId}\`
 WHERE usage_date BETWEEN @from AND @to
 GROUP BY day, provider, model`,
      // BigQueryDate values: with a plain string the client sends a DATE parameter as NULL.
      params: { from: await dateParam(from), to: await dateParam(to) },
      tier,
      labels: { endpoint: 'daily_spend' },
    });
    return rows.map((r) => ({ day: r.day, category: 'llm', provider: r.provider, model: r.model, vendor: r.provider, nanos: r.cost_usd === null ? 0n : parseUsd(r.cost_usd) }));
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}

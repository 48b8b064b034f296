import { BigQuery } from '@google-cloud/bigquery';
import { LLM_USAGE_DAILY, orgDatasetId } from '../../shared/analytics/index.js';
import type { Tenant } from '../../shared/auth/index.js';
import { runQuery } from '../../shared/bigquery/index.js';
import { log } from '../../shared/log/index.js';
import { nanosToNumber, parseNanos } from './money.js';
import type { CostsQuery, GroupBy } from './schema.js';

export interface CostRow {
  key: string;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

export interface CostsView {
  from: string;
  to: string;
  group_by: GroupBy;
  currency: 'USD';
  rows: CostRow[];
  total_cost_usd: number;
}

/** Fixed SQL per grouping: the only part of the statement that varies, never taken from input. */
const KEY_SQL: Record<GroupBy, string> = {
  provider: 'provider',
  model: 'model',
  day: 'CAST(usage_date AS STRING)',
};

/**
 * The statement for one org and grouping. The dataset id comes from the authenticated
 * tenant's slug (validated by `orgDatasetId`), never from the request; the dates are
 * DATE parameters. The partition filter on `usage_date` keeps the scan to the range.
 * Costs leave BigQuery as exact decimal strings (see `money.ts`).
 */
export function costsSql(orgSlug: string, groupBy: GroupBy): string {
  return `SELECT ${KEY_SQL[groupBy]} AS key,
       SUM(requests) AS requests,
       SUM(input_tokens) AS input_tokens,
       SUM(output_tokens) AS output_tokens,
       CAST(SUM(cost_usd) AS STRING) AS cost_usd
  FROM \`${orgDatasetId(orgSlug)}.${LLM_USAGE_DAILY.tableId}\`
 WHERE usage_date BETWEEN @from AND @to
 GROUP BY key
 ORDER BY key`;
}

interface ResultRow {
  key: string;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: string;
}

/** BigQuery's answer for a dataset or table that does not exist (yet). */
function isNotFound(error: unknown): boolean {
  const e = error as { code?: number; errors?: { reason?: string }[] } | undefined;
  return e?.code === 404 || e?.errors?.[0]?.reason === 'notFound';
}

/**
 * The tenant's costs over `from`…`to` (both included), grouped and ordered by key, under
 * the user tier. An org whose dataset does not exist yet (onboarding unfinished) has no
 * costs: empty rows, not an error.
 */
export async function loadCosts(tenant: Tenant, query: CostsQuery): Promise<CostsView> {
  let result: ResultRow[];
  try {
    result = await runQuery<ResultRow>({
      sql: costsSql(tenant.orgSlug, query.group_by),
      // BigQueryDate values: with a plain string and a `types` entry the client sends no value at all.
      params: { from: BigQuery.date(query.from), to: BigQuery.date(query.to) },
      tier: 'user',
      labels: { endpoint: 'costs', group_by: query.group_by },
    });
  } catch (error) {
    if (!isNotFound(error)) throw error;
    log.info('The org has no usage table yet; answering empty costs', { org_slug: tenant.orgSlug });
    result = [];
  }
  let total = 0n;
  const rows = result.map((row) => {
    const nanos = parseNanos(row.cost_usd);
    total += nanos;
    return {
      key: row.key,
      requests: Number(row.requests),
      input_tokens: Number(row.input_tokens),
      output_tokens: Number(row.output_tokens),
      cost_usd: nanosToNumber(nanos),
    };
  });
  return { from: query.from, to: query.to, group_by: query.group_by, currency: 'USD', rows, total_cost_usd: nanosToNumber(total) };
}

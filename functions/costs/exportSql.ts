import { LLM_BILLED_COST_DAILY, LLM_USAGE_DAILY, orgDatasetId, TOKEN_COLUMN_PREFIX } from '../../shared/analytics/index.js';
import { TOKEN_CLASSES } from '../../shared/usage/index.js';

/**
 * As in `costsSql`: rows loaded before the per-class columns existed count all their input
 * as uncached input and all their output as text output.
 */
const classColumns = TOKEN_CLASSES.map((c) => {
  const fallback = c === 'input_uncached' ? 'input_tokens' : c === 'output' ? 'output_tokens' : '0';
  return `COALESCE(${TOKEN_COLUMN_PREFIX}${c}, ${fallback}) AS ${c}`;
}).join(',\n       ');

/**
 * The org's usage rows over the range, one per stored row, ordered so that rows of one
 * export key (day, provider, model, tier, project, source) are adjacent: the export merges
 * them as it streams. Money as exact NUMERIC text. The dataset id comes from the
 * authenticated tenant's slug, the dates are DATE parameters on the partition column.
 */
export function exportUsageSql(orgSlug: string): string {
  return `SELECT CAST(usage_date AS STRING) AS day,
       provider,
       model,
       COALESCE(service_tier, 'standard') AS service_tier,
       project_id,
       COALESCE(source, CONCAT(provider, '_usage_daily')) AS source,
       ${classColumns},
       COALESCE(unpriced_tokens, 0) AS unpriced_tokens,
       CAST(cost_usd AS STRING) AS cost_usd,
       price_entry
  FROM \`${orgDatasetId(orgSlug)}.${LLM_USAGE_DAILY.tableId}\`
 WHERE usage_date BETWEEN @from AND @to
 ORDER BY day, provider, model, service_tier, project_id, source`;
}

/** The provider's bill over the range, one row per stored line. */
export function exportBilledSql(orgSlug: string): string {
  return `SELECT CAST(usage_date AS STRING) AS day,
       provider,
       model,
       service_tier,
       project_id,
       source,
       description,
       CAST(billed_cost_usd AS STRING) AS billed_cost_usd
  FROM \`${orgDatasetId(orgSlug)}.${LLM_BILLED_COST_DAILY.tableId}\`
 WHERE usage_date BETWEEN @from AND @to
 ORDER BY day, provider, model, service_tier, project_id, source`;
}

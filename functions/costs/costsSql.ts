import { LLM_BILLED_COST_DAILY, LLM_USAGE_DAILY, orgDatasetId, TOKEN_COLUMN_PREFIX } from '../../shared/analytics/index.js';
import { DEMO_PIPELINE_ID } from '../../shared/demo/index.js';
import { TOKEN_CLASSES, type TokenClass } from '../../shared/usage/index.js';
import type { GroupBy } from './schema.js';

/** The `source` of the demo pipeline's rows: their cost is labelled apart (`totals.demo_cost_usd`). */
const DEMO_SOURCE = DEMO_PIPELINE_ID;

/** The key of a billed line that names no model, tier or project: a row of its own, never folded into another key. */
const NOT_ATTRIBUTED = '(not attributed)';

/** The `project` key of usage with no project (OpenAI's default project, Anthropic's default workspace). */
const NO_PROJECT = '(none)';

/**
 * The grouping column of the fact CTEs per `group_by`: the only part of the statement that
 * varies with the request, and it comes from this fixed map, never from input. Both fact
 * CTEs (usage and billed) expose every one of these columns under the same name.
 */
const KEY_COLUMN: Record<GroupBy, string> = {
  day: 'day',
  category: 'category',
  provider: 'provider',
  model: 'model',
  service_tier: 'service_tier',
  project: 'project',
  vendor: 'vendor',
  source: 'source',
};

/**
 * Rows loaded before the per-class columns existed have them NULL (until
 * `bq:migrate-usage` fills them in): all their input counts as uncached input and all
 * their output as text output, so old days still add up to the tokens they had. Every
 * other class of such a row is 0.
 */
const LEGACY_CLASS_FALLBACK: Partial<Record<TokenClass, string>> = {
  input_uncached: 'input_tokens',
  output: 'output_tokens',
};

const classColumns = TOKEN_CLASSES.map((c) => `COALESCE(${TOKEN_COLUMN_PREFIX}${c}, ${LEGACY_CLASS_FALLBACK[c] ?? '0'}) AS ${c}`).join(',\n         ');
const classSums = TOKEN_CLASSES.map((c) => `SUM(${c}) AS ${c}`).join(',\n         ');
const classResults = TOKEN_CLASSES.map((c) => `u.${c}`).join(', ');

/** Variants of {@link costsSql}. */
export interface CostsSqlOptions {
  /**
   * Join the provider's bill (`llm_billed_cost_daily`). Off only for the fallback query of
   * an org whose billed table does not exist yet (see `loadCosts`): its usage still shows,
   * with no billed figure.
   * @default true
   */
  billed?: boolean;
}

/**
 * The LLM statement for one org and grouping: one row per key with the sums of our priced
 * usage and, beside them, the sum of the provider's bill for the same key.
 *
 * Shape: two fact CTEs that expose the same key columns (`usage_facts` over
 * `llm_usage_daily`, `billed_facts` over `llm_billed_cost_daily`), each aggregated by the
 * grouping's column, then a FULL JOIN on the key — so a key only the bill has (a model our
 * usage never saw, a bill line with no project) still appears, with zero usage. The SaaS
 * accrual will join here as a third fact source with `category = 'saas'`.
 *
 * The dataset id comes from the authenticated tenant's slug (validated by `orgDatasetId`),
 * never from the request; the dates are DATE parameters, and both tables are filtered on
 * their partition column `usage_date`. Money leaves BigQuery as exact NUMERIC decimal text
 * (`CAST(SUM(…) AS STRING)`), never as a float.
 */
export function costsSql(orgSlug: string, groupBy: GroupBy, { billed = true }: CostsSqlOptions = {}): string {
  const dataset = orgDatasetId(orgSlug);
  const key = KEY_COLUMN[groupBy];
  const usage = `usage_facts AS (
  SELECT CAST(usage_date AS STRING) AS day,
         'llm' AS category,
         provider,
         model,
         COALESCE(service_tier, 'standard') AS service_tier,
         COALESCE(project_id, '${NO_PROJECT}') AS project,
         provider AS vendor,
         COALESCE(source, CONCAT(provider, '_usage_daily')) AS source,
         requests,
         ${classColumns},
         COALESCE(unpriced_tokens, 0) AS unpriced_tokens,
         cost_usd
    FROM \`${dataset}.${LLM_USAGE_DAILY.tableId}\`
   WHERE usage_date BETWEEN @from AND @to
),
usage_by_key AS (
  SELECT ${key} AS key,
         SUM(requests) AS requests,
         ${classSums},
         SUM(unpriced_tokens) AS unpriced_tokens,
         CAST(SUM(cost_usd) AS STRING) AS cost_usd,
         CAST(SUM(IF(source = '${DEMO_SOURCE}', cost_usd, NULL)) AS STRING) AS demo_cost_usd
    FROM usage_facts
   GROUP BY key
)`;
  const usageColumns = `u.requests, ${classResults}, u.unpriced_tokens, u.cost_usd, u.demo_cost_usd`;
  if (!billed) {
    return `WITH ${usage}
SELECT u.key AS key, ${usageColumns}, CAST(NULL AS STRING) AS billed_cost_usd
  FROM usage_by_key AS u
 ORDER BY key`;
  }
  return `WITH ${usage},
billed_facts AS (
  SELECT CAST(usage_date AS STRING) AS day,
         'llm' AS category,
         provider,
         COALESCE(model, '${NOT_ATTRIBUTED}') AS model,
         COALESCE(service_tier, '${NOT_ATTRIBUTED}') AS service_tier,
         COALESCE(project_id, '${NOT_ATTRIBUTED}') AS project,
         provider AS vendor,
         source,
         billed_cost_usd
    FROM \`${dataset}.${LLM_BILLED_COST_DAILY.tableId}\`
   WHERE usage_date BETWEEN @from AND @to
),
billed_by_key AS (
  SELECT ${key} AS billed_key,
         CAST(SUM(billed_cost_usd) AS STRING) AS billed_cost_usd
    FROM billed_facts
   GROUP BY billed_key
)
SELECT COALESCE(u.key, b.billed_key) AS key, ${usageColumns}, b.billed_cost_usd
  FROM usage_by_key AS u
  FULL JOIN billed_by_key AS b ON u.key = b.billed_key
 ORDER BY key`;
}

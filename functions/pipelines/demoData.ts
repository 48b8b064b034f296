import { LLM_BILLED_COST_DAILY, LLM_USAGE_DAILY, orgDatasetId } from '../../shared/analytics/index.js';
import { runQuery } from '../../shared/bigquery/index.js';
import { DEMO_PIPELINE_ID } from '../../shared/demo/index.js';
import { log } from '../../shared/log/index.js';

/** BigQuery's answer for a dataset or table that does not exist (yet). */
function isNotFound(error: unknown): boolean {
  const e = error as { code?: number; errors?: { reason?: string }[] } | undefined;
  return e?.code === 404 || e?.errors?.[0]?.reason === 'notFound';
}

/**
 * Removes every row the demo pipeline loaded for the org — usage and billed lines, every
 * day — and nothing else, in one transaction. Both tables refuse reads and writes without a
 * partition filter: `usage_date >= 1900-01-01` is one that selects every partition.
 *
 * An org without a dataset yet has no demo data: nothing to do.
 */
export async function deleteDemoData(orgSlug: string): Promise<void> {
  const dataset = orgDatasetId(orgSlug);
  const where = `usage_date >= DATE '1900-01-01' AND source = @source`;
  const sql = [
    'BEGIN TRANSACTION;',
    `DELETE FROM \`${dataset}.${LLM_USAGE_DAILY.tableId}\` WHERE ${where};`,
    `DELETE FROM \`${dataset}.${LLM_BILLED_COST_DAILY.tableId}\` WHERE ${where};`,
    'COMMIT TRANSACTION;',
  ].join('\n');
  try {
    await runQuery({ sql, params: { source: DEMO_PIPELINE_ID }, tier: 'user', labels: { endpoint: 'delete_demo_data' } });
  } catch (error) {
    if (!isNotFound(error)) throw error;
    log.info('The org has no usage tables yet; no demo data to delete', { org_slug: orgSlug });
  }
}

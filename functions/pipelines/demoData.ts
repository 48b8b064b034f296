import { LLM_BILLED_COST_DAILY, LLM_USAGE_DAILY, orgDatasetId } from '../../shared/analytics/index.js';
import { runQuery } from '../../shared/bigquery/index.js';
import { getDb } from '../../shared/db/index.js';
import type { Deadline } from '../../shared/deadline/index.js';
import { DEMO_PIPELINE_ID } from '../../shared/demo/index.js';
import { log } from '../../shared/log/index.js';
import { withOrgLoadLock } from '../../shared/pipelines/index.js';

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
 * It runs under the org's load lock, like the worker's loads: BigQuery aborts one of two
 * concurrent transactions on one table, so a delete beside a running load would abort it
 * (or be aborted). It waits for the lock at most half of the request's time left (then
 * `503` with `Retry-After`).
 *
 * An org without a dataset yet has no demo data: nothing to do.
 */
export async function deleteDemoData({ orgId, orgSlug }: { orgId: string; orgSlug: string }, deadline: Deadline): Promise<void> {
  const dataset = orgDatasetId(orgSlug);
  const where = `usage_date >= DATE '1900-01-01' AND source = @source`;
  const sql = [
    'BEGIN TRANSACTION;',
    `DELETE FROM \`${dataset}.${LLM_USAGE_DAILY.tableId}\` WHERE ${where};`,
    `DELETE FROM \`${dataset}.${LLM_BILLED_COST_DAILY.tableId}\` WHERE ${where};`,
    'COMMIT TRANSACTION;',
  ].join('\n');
  const db = await getDb();
  try {
    await withOrgLoadLock(db, orgId, { tier: 'user', signal: deadline.signal, maxWaitMs: deadline.remainingMs() / 2 }, () =>
      runQuery({ sql, params: { source: DEMO_PIPELINE_ID }, tier: 'user', labels: { endpoint: 'delete_demo_data' } }),
    );
  } catch (error) {
    if (!isNotFound(error)) throw error;
    log.info('The org has no usage tables yet; no demo data to delete', { org_slug: orgSlug });
  }
}

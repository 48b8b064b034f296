import { CENTRAL_DATASET, ORG_META_PIPELINE_RUNS } from '../analytics/index.js';
import { insertIdFor, insertRows } from '../bigquery/index.js';
import { log } from '../log/index.js';

/** A finished run (or one attempt's end) as the central history keeps it. */
export interface HistoryRow {
  runId: string;
  orgSlug: string;
  pipelineId: string;
  date: string;
  attempt: number;
  status: 'succeeded' | 'failed';
  rowsLoaded: number;
  costUsd: string;
  unpricedRows: number;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string;
}

/**
 * {@link appendHistory}, for callers whose run state in PostgreSQL is already the truth: the
 * history is a copy for analytics, so its failure is logged, never thrown.
 */
export async function recordRunHistory(row: HistoryRow): Promise<void> {
  try {
    await appendHistory(row);
  } catch (error) {
    log.error('Appending the run to the BigQuery history failed', error, { run_id: row.runId });
  }
}

/**
 * Appends a finished run to the central history table. The history is append-only (never
 * deleted or merged), so a streaming insert is right here; its `insertId` is derived from
 * (run, attempt), so a retried append — ours, or the client's — is dropped by BigQuery
 * instead of doubling the row.
 */
export async function appendHistory(row: HistoryRow): Promise<void> {
  await insertRows({
    dataset: CENTRAL_DATASET,
    table: ORG_META_PIPELINE_RUNS.tableId,
    rows: [
      {
        insertId: insertIdFor('pipeline-run', row.runId, row.attempt),
        json: {
          created_at: row.createdAt,
          org_slug: row.orgSlug,
          run_id: row.runId,
          pipeline_id: row.pipelineId,
          run_date: row.date,
          status: row.status,
          attempt: row.attempt,
          rows_loaded: row.rowsLoaded,
          cost_usd: row.costUsd,
          unpriced_rows: row.unpricedRows,
          error: row.error,
          started_at: row.startedAt,
          finished_at: row.finishedAt,
        },
      },
    ],
  });
}

import { BigQuery } from '@google-cloud/bigquery';
import { LLM_USAGE_DAILY, orgDatasetId } from '../../shared/analytics/index.js';
import { runQuery } from '../../shared/bigquery/index.js';
import type { PricedRow } from '../../shared/providers/index.js';

/** Rows per INSERT statement: keeps each array parameter well inside BigQuery's request limits. */
const ROWS_PER_STATEMENT = 2_000;

export interface ReplaceDay {
  orgSlug: string;
  date: string;
  runId: string;
  /** The providers whose rows of the day this load replaces (the fetch's `providersCovered`). */
  providers: readonly string[];
  rows: readonly PricedRow[];
}

/**
 * Replaces the org's rows of one day for the given providers in `llm_usage_daily`, as one
 * BigQuery multi-statement transaction: DELETE then INSERT … FROM UNNEST(@rows), committed
 * together. After any number of re-runs and redeliveries exactly one copy of the day's
 * rows exists; a crash (ours, or the job's) mid-load leaves the old rows or the new ones,
 * never a mix, because a transaction that does not commit is rolled back.
 *
 * DML, never streaming inserts: rows in the streaming buffer cannot be deleted or updated
 * for up to ~30 minutes, so a re-run shortly after a load would fail or double them.
 */
export async function replaceDay({ orgSlug, date, runId, providers, rows }: ReplaceDay): Promise<void> {
  const table = `\`${orgDatasetId(orgSlug)}.${LLM_USAGE_DAILY.tableId}\``;
  // A DATE parameter must be a BigQueryDate: the client sends a plain string typed DATE as NULL.
  const params: Record<string, unknown> = { date: BigQuery.date(date), org: orgSlug, run_id: runId, providers: [...providers] };
  const types: Record<string, unknown> = { date: 'DATE', org: 'STRING', run_id: 'STRING', providers: ['STRING'] };
  const statements = [
    'BEGIN TRANSACTION;',
    `DELETE FROM ${table} WHERE usage_date = @date AND provider IN UNNEST(@providers);`,
  ];
  for (let start = 0, n = 0; start < rows.length; start += ROWS_PER_STATEMENT, n += 1) {
    const name = `rows_${n}`;
    params[name] = rows.slice(start, start + ROWS_PER_STATEMENT).map((r) => ({
      provider: r.provider,
      model: r.model,
      requests: r.requests,
      input_tokens: r.input_tokens,
      output_tokens: r.output_tokens,
      cost_usd: r.cost_usd,
    }));
    types[name] = [{ provider: 'STRING', model: 'STRING', requests: 'INT64', input_tokens: 'INT64', output_tokens: 'INT64', cost_usd: 'STRING' }];
    statements.push(
      `INSERT INTO ${table} (usage_date, org_slug, provider, model, requests, input_tokens, output_tokens, cost_usd, pipeline_run_id, loaded_at)
       SELECT @date, @org, r.provider, r.model, r.requests, r.input_tokens, r.output_tokens, CAST(r.cost_usd AS NUMERIC), @run_id, CURRENT_TIMESTAMP()
         FROM UNNEST(@${name}) AS r;`,
    );
  }
  statements.push('COMMIT TRANSACTION;');
  await runQuery({ sql: statements.join('\n'), params, types, tier: 'batch', labels: { pipeline_run: runId } });
}

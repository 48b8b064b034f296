import { createHash } from 'node:crypto';
import { budgetMs, raceSignal, withBudget, type Tier } from '../deadline/index.js';
import { getBigQuery, bigQueryConfig } from './client.js';
import { mapBigQueryError } from './query.js';

/**
 * A deterministic `insertId` from the parts that identify a row. The client would
 * otherwise make a new random id on every attempt, and a retried insert would duplicate
 * rows; with ours, BigQuery drops the repeat.
 */
export function insertIdFor(...parts: (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 64);
}

export interface InsertRowsOptions {
  dataset: string;
  table: string;
  rows: { insertId: string; json: Record<string, unknown> }[];
  /** @default 'user' */
  tier?: Tier;
}

/** Streams rows with our `insertId`s (`raw: true`), within the tier's budget. */
export async function insertRows({ dataset, table, rows, tier = 'user' }: InsertRowsOptions): Promise<void> {
  if (rows.length === 0) return;
  const bq = await getBigQuery();
  const ms = Math.floor(budgetMs(tier));
  await withBudget(tier, async (budget) => {
    try {
      const insert = bq.dataset(dataset, { projectId: bigQueryConfig().projectId }).table(table).insert(rows, { raw: true });
      await raceSignal(insert, budget.signal);
    } catch (error) {
      throw mapBigQueryError(error, ms);
    }
  });
}

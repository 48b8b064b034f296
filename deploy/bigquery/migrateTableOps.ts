/**
 * The table operations `bq:migrate` is made of, each one BigQuery call: read
 * metadata, count, copy, rename, drop. Every query goes through
 * `migrateLayout.ts`, so it carries a partition filter where the table
 * requires one.
 */
import type { BigQuery, TableMetadata } from '@google-cloud/bigquery';
import { countSql, tableSql } from './migrateLayout.js';

/** The HTTP status of a client error, if it has one. */
export function errorCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? Number(err.code) : undefined;
}

/** tables.get, or undefined when the table does not exist. */
export async function metadataOf(bq: BigQuery, datasetId: string, tableId: string): Promise<TableMetadata | undefined> {
  try {
    const [meta] = (await bq.dataset(datasetId).table(tableId).getMetadata()) as unknown as [TableMetadata];
    return meta;
  } catch (err) {
    if (errorCode(err) === 404) return undefined;
    throw err;
  }
}

/** Every row of a table, counted by a query (rows still in the streaming buffer included). */
export async function countRows(bq: BigQuery, datasetId: string, tableId: string, meta: TableMetadata): Promise<number> {
  const [rows] = await bq.query({ query: countSql(meta, datasetId, tableId) });
  return Number((rows as { n: number }[])[0]?.n ?? 0);
}

/** `DROP TABLE IF EXISTS`. */
export async function dropTable(bq: BigQuery, datasetId: string, tableId: string): Promise<void> {
  await bq.query({ query: `DROP TABLE IF EXISTS ${tableSql(datasetId, tableId)}` });
}

/** `ALTER TABLE … RENAME TO` within the dataset. */
export async function renameTable(bq: BigQuery, datasetId: string, from: string, to: string): Promise<void> {
  tableSql(datasetId, to); // checks the new name
  await bq.query({ query: `ALTER TABLE ${tableSql(datasetId, from)} RENAME TO ${to}` });
}

/** A copy job `from` → `to` (a new table): the rows, schema, partitioning and clustering as they are. */
export async function copyTable(bq: BigQuery, datasetId: string, from: string, to: string): Promise<void> {
  await bq.dataset(datasetId).table(from).copy(bq.dataset(datasetId).table(to));
}

/** BigQuery: the lazy client, budgeted and cancellable queries, idempotent inserts. */
export { bigQueryConfig, createBigQueryClient, dateParam, getBigQuery, resetBigQueryConfig } from './client.js';
export { endpointOptions } from './endpoint.js';
export { parseBigQueryConfig, type BigQueryConfig } from './config.js';
export { labelValue, mapBigQueryError, runQuery, type BigQueryQuery } from './query.js';
export { queryPages, type PagedQuery } from './queryPages.js';
export { insertIdFor, insertRows, type InsertRowsOptions } from './insert.js';
export { isNotFound } from './notFound.js';

/**
 * The BigQuery client library, for `import('./library.js')` on first use (see
 * `createBigQueryClient`). Imported through this module, not as `import('@google-cloud/bigquery')`:
 * the build inlines the package into a chunk of its own, and a chunk split at a CommonJS
 * package exports only `default`, where this module's chunk exports `BigQuery` by name
 * (`deploy/build.ts` refuses the direct form).
 */
export { BigQuery } from '@google-cloud/bigquery';

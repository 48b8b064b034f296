/**
 * `pg`, for `import('./pgLibrary.js')` on first use (see `loadPg`). Through this module,
 * not `import('pg')`, as every package the build inlines and a function imports on first
 * use (see `shared/bigquery/library.ts`).
 */
export { default } from 'pg';

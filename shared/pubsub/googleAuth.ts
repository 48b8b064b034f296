/**
 * google-auth-library, for `import('./googleAuth.js')` on first use (Application Default
 * Credentials for real Pub/Sub). Through this module, not `import('google-auth-library')`,
 * so the chunk the build splits off exports `GoogleAuth` by name (see `shared/bigquery/library.ts`).
 */
export { GoogleAuth } from 'google-auth-library';

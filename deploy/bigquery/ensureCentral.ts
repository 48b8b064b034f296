/**
 * Deploy step: creates (or verifies and patches) the central dataset `cloudact_meta` and
 * its tables in the configured project, before any function writes an audit row there:
 *
 *   GOOGLE_CLOUD_PROJECT=my-project npx tsx deploy/bigquery/ensureCentral.ts
 *   BIGQUERY_API_ENDPOINT=http://127.0.0.1:9050 npx tsx deploy/bigquery/ensureCentral.ts
 *
 * The definitions and the ensure code are runtime code (onboarding runs them at request
 * time) and live in `shared/analytics/`; this file is only the command.
 */
import { ensureCentral } from '../../shared/analytics/index.js';
import { isMain } from '../isMain.js';

if (isMain(import.meta.url)) {
  try {
    console.log(JSON.stringify(await ensureCentral(AbortSignal.timeout(120_000))));
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  }
}

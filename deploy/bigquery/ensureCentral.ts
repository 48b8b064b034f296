/**
 * Creates (or verifies and patches) the central dataset `cloudact_meta` and its tables in
 * the configured project. Onboarding ensures them too, but the audit log of every function
 * writes there from the first mutating call, so a deploy should run this first:
 *
 *   GOOGLE_CLOUD_PROJECT=my-project npx tsx deploy/bigquery/ensureCentral.ts
 *   BIGQUERY_API_ENDPOINT=http://127.0.0.1:9050 npx tsx deploy/bigquery/ensureCentral.ts
 */
import { bigQueryConfig, getBigQuery } from '../../shared/bigquery/index.js';
import { isMain } from '../isMain.js';
import { ensureDatasetDefinition, type EnsureReport } from './ensure.js';
import { centralDataset } from './tables.js';

/** Ensures the central dataset with the instance's BigQuery settings. */
export async function ensureCentral(signal?: AbortSignal): Promise<EnsureReport> {
  const bq = await getBigQuery();
  return ensureDatasetDefinition(bq, centralDataset(), { location: bigQueryConfig().location, signal });
}

if (isMain(import.meta.url)) {
  try {
    console.log(JSON.stringify(await ensureCentral(AbortSignal.timeout(120_000))));
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  }
}

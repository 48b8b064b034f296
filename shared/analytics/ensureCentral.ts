import { bigQueryConfig, getBigQuery } from '../bigquery/index.js';
import { ensureDatasetDefinition, type EnsureReport } from './ensure.js';
import { centralDataset } from './tables.js';

/**
 * Creates (or verifies and patches) the central dataset `cloudact_meta` and its tables
 * with the instance's BigQuery settings. Onboarding ensures them too, but the audit log of
 * every function writes there from the first mutating call, so a deploy runs this first
 * (`deploy/bigquery/ensureCentral.ts`).
 */
export async function ensureCentral(signal?: AbortSignal): Promise<EnsureReport> {
  const bq = await getBigQuery();
  return ensureDatasetDefinition(bq, centralDataset(), { location: bigQueryConfig().location, signal });
}

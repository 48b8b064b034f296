import { BigQuery } from '@google-cloud/bigquery';
import { lazyClient } from '../clients/index.js';
import { endpointOptions } from './endpoint.js';
import { parseBigQueryConfig, type BigQueryConfig } from './config.js';

/** Builds a client: auth-free against the local endpoint, ADC in Google Cloud. */
export function createBigQueryClient(config: BigQueryConfig): BigQuery {
  return new BigQuery({
    projectId: config.projectId,
    location: config.location,
    ...(config.apiEndpoint === undefined ? {} : endpointOptions(config.apiEndpoint)),
  });
}

let cachedConfig: BigQueryConfig | undefined;

/** The instance's BigQuery settings, parsed once. */
export function bigQueryConfig(): BigQueryConfig {
  cachedConfig ??= parseBigQueryConfig();
  return cachedConfig;
}

/** The instance's one BigQuery client (module-scope lazy cache). */
export const getBigQuery = lazyClient<BigQuery>('bigquery', {
  create: () => createBigQueryClient(bigQueryConfig()),
});

/** Tests: forget the parsed settings (after changing the environment). */
export function resetBigQueryConfig(): void {
  cachedConfig = undefined;
}

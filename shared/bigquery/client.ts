import { BigQuery, type BigQueryOptions } from '@google-cloud/bigquery';
import { lazyClient } from '../clients/index.js';
import { parseBigQueryConfig, type BigQueryConfig } from './config.js';

/**
 * An auth client that adds no headers. The v8 client still looks for credentials with a
 * custom `apiEndpoint`; with this it never does — no metadata-server probe, and no real
 * token minted on a developer's machine and sent to localhost.
 */
const noCredentials = {
  getRequestHeaders: async (): Promise<Headers> => new Headers(),
  getProjectId: async (): Promise<string> => 'local-project',
};

/** Builds a client: auth-free against the local endpoint, ADC in Google Cloud. */
export function createBigQueryClient(config: BigQueryConfig): BigQuery {
  return new BigQuery({
    projectId: config.projectId,
    location: config.location,
    ...(config.apiEndpoint === undefined
      ? {}
      : { apiEndpoint: config.apiEndpoint, authClient: noCredentials as unknown as BigQueryOptions['authClient'] }),
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

import type { BigQuery, BigQueryDate } from '@google-cloud/bigquery';
import { lazyClient } from '../clients/index.js';
import { endpointOptions } from './endpoint.js';
import { parseBigQueryConfig, type BigQueryConfig } from './config.js';

/**
 * Builds a client: auth-free against the local endpoint, ADC in Google Cloud. The library
 * is imported here, on first use, not at module load: it costs ~90 ms of CPU, inlined
 * into a chunk of its own (~150 ms as an installed package; `npm run bench:coldstart`),
 * and most functions' first request — and `quota`'s every request — never touches BigQuery.
 */
export async function createBigQueryClient(config: BigQueryConfig): Promise<BigQuery> {
  const { BigQuery } = await import('./library.js');
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

/**
 * A DATE query parameter. It must be a `BigQueryDate`: with a plain string and a `types`
 * entry the client sends no value at all. Through the client, so the library is loaded on
 * first use (see {@link createBigQueryClient}).
 */
export async function dateParam(value: string): Promise<BigQueryDate> {
  return (await getBigQuery()).date(value);
}

/** Tests: forget the parsed settings (after changing the environment). */
export function resetBigQueryConfig(): void {
  cachedConfig = undefined;
}

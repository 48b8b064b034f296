/**
 * Client-side helper: options for `new BigQuery(...)` that point the real
 * `@google-cloud/bigquery` client at a local endpoint without any credential lookup
 * (`shared/bigquery`'s `endpointOptions`, the runtime's own, says why that matters).
 */
import type { BigQueryOptions } from '@google-cloud/bigquery';
import { endpointOptions } from '../../shared/bigquery/index.js';

/**
 * Options for `new BigQuery(localBigQueryOptions(url, projectId))`.
 *
 * @param url the endpoint URL (`BigQueryEndpoint.url`), e.g. `http://127.0.0.1:9050`
 * @param projectId the project the client works in (defaults to `local-project`)
 */
export function localBigQueryOptions(url: string, projectId = 'local-project'): BigQueryOptions {
  return { projectId, ...endpointOptions(url) };
}

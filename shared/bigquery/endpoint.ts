import type { BigQueryOptions } from '@google-cloud/bigquery';

/**
 * An auth client that adds no headers. v8 of `@google-cloud/bigquery` does not skip
 * authentication for a custom `apiEndpoint`: it asks google-auth-library for Application
 * Default Credentials on every request and goes on unauthenticated only when that fails.
 * That works where there are none (with `METADATA_SERVER_DETECTION=none`, so no
 * metadata-server probe), but on a laptop after `gcloud auth application-default login`
 * it would mint a real token and send it to localhost. google-auth-library only calls
 * `getRequestHeaders` (the client has a `projectId`), so this short-circuits all of it;
 * `getProjectId` is there for code paths that ask the client for its project.
 */
const noCredentials = {
  getRequestHeaders: async (): Promise<Headers> => new Headers(),
  getProjectId: async (): Promise<string> => 'local-project',
};

/**
 * Client options that point at a BigQuery-compatible endpoint (the local one in `dev/`)
 * without any credential lookup. The one no-credentials auth client of the repository:
 * the runtime's client uses it when `BIGQUERY_API_ENDPOINT` is set, the local stack and
 * the tests through `dev/bigquery`'s `localBigQueryOptions`.
 */
export function endpointOptions(apiEndpoint: string): Pick<BigQueryOptions, 'apiEndpoint' | 'authClient'> {
  return { apiEndpoint, authClient: noCredentials as unknown as BigQueryOptions['authClient'] };
}

/**
 * Client-side helper: options for `new BigQuery(...)` that point the real
 * `@google-cloud/bigquery` client at a local endpoint without any credential
 * lookup.
 *
 * Why it exists: v8 of the client does not skip authentication for a custom
 * `apiEndpoint`. It asks google-auth-library for Application Default
 * Credentials on every request and only proceeds unauthenticated when that
 * fails with "Could not load the default credentials". That works on CI
 * (with `METADATA_SERVER_DETECTION=none`, so no metadata-server probe), but
 * on a laptop with `gcloud auth application-default login` it would mint a
 * real token and send it to localhost. Passing an `authClient` whose
 * `getRequestHeaders()` adds nothing short-circuits all of that.
 */
import type { BigQueryOptions } from '@google-cloud/bigquery';

/** A no-op auth client: google-auth-library only calls `getRequestHeaders` when `projectId` is set. */
const noCredentials = {
  getRequestHeaders: async (): Promise<Headers> => new Headers(),
  // Present for code paths that ask the client for its project.
  getProjectId: async (): Promise<string> => 'local-project',
};

/**
 * Options for `new BigQuery(localBigQueryOptions(url, projectId))`.
 *
 * @param url the endpoint URL (`BigQueryEndpoint.url`), e.g. `http://127.0.0.1:9050`
 * @param projectId the project the client works in (defaults to `local-project`)
 */
export function localBigQueryOptions(url: string, projectId = 'local-project'): BigQueryOptions {
  return {
    projectId,
    apiEndpoint: url,
    authClient: noCredentials as unknown as BigQueryOptions['authClient'],
  };
}

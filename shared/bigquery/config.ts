import { envInt, envText, envTextOr, envUrl, parseEnv, type Env } from '../config/index.js';

const bigQueryConfigEnv = {
  /** Project that runs the jobs and holds the datasets. @default GOOGLE_CLOUD_PROJECT */
  BIGQUERY_PROJECT_ID: envText(),
  GOOGLE_CLOUD_PROJECT: envText(),
  /** The local BigQuery-compatible endpoint (dev/, tests). Unset in Google Cloud. */
  BIGQUERY_API_ENDPOINT: envUrl('must be a URL such as http://127.0.0.1:9050'),
  /** @default EU */
  BIGQUERY_LOCATION: envTextOr('EU'),
  /** Every job is capped at this many billed bytes. @default 10 GiB */
  BIGQUERY_MAX_BYTES_BILLED: envInt({ min: 1, max: Number.MAX_SAFE_INTEGER, default: 10 * 1024 ** 3 }),
};

export interface BigQueryConfig {
  projectId: string;
  apiEndpoint: string | undefined;
  location: string;
  maximumBytesBilled: number;
}

/** Parses the BigQuery settings; a project id is required one way or the other. */
export function parseBigQueryConfig(env: Env = process.env): BigQueryConfig {
  const c = parseEnv(bigQueryConfigEnv, env);
  const projectId = c.BIGQUERY_PROJECT_ID ?? c.GOOGLE_CLOUD_PROJECT ?? (c.BIGQUERY_API_ENDPOINT !== undefined ? 'local-project' : undefined);
  if (projectId === undefined) {
    throw new Error('Invalid configuration: environment variable BIGQUERY_PROJECT_ID (or GOOGLE_CLOUD_PROJECT) must be set');
  }
  return {
    projectId,
    apiEndpoint: c.BIGQUERY_API_ENDPOINT,
    location: c.BIGQUERY_LOCATION,
    maximumBytesBilled: c.BIGQUERY_MAX_BYTES_BILLED,
  };
}

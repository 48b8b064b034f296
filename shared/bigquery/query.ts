import type { BigQuery, Query } from '@google-cloud/bigquery';
import { budgetMs, now, type Tier } from '../deadline/index.js';
import { DeadlineExceededError, InternalError, UnavailableError } from '../errors/index.js';
import { getLogContext, log } from '../log/index.js';
import { bigQueryConfig, getBigQuery } from './client.js';

export interface BigQueryQuery {
  /** GoogleSQL with `@named` parameters. Never build SQL from input: pass `params`. */
  sql: string;
  params?: Record<string, unknown>;
  /** Parameter types, needed for null or empty-array values. */
  types?: Record<string, unknown>;
  /** @default 'user' */
  tier?: Tier;
  /** Added to the job's labels (function and org are added for you). */
  labels?: Record<string, string>;
}

const LABEL_VALUE = /[^a-z0-9_-]/g;

/** Label values: lowercase letters, digits, `_` and `-`, ≤ 63 chars. */
export function labelValue(value: string): string {
  return value.toLowerCase().replace(LABEL_VALUE, '_').slice(0, 63);
}

interface BigQueryApiError extends Error {
  code?: number;
  errors?: { reason?: string; message?: string }[];
}

function reasonOf(error: unknown): string | undefined {
  return (error as BigQueryApiError | undefined)?.errors?.[0]?.reason;
}

/**
 * Runs a query as a job with `jobTimeoutMs` = the tier's budget (min(tier, time left)),
 * `maximumBytesBilled` and labels on every job. If results are not there when the budget
 * runs out, the client stops waiting, cancels the job with `jobs.cancel`, and throws
 * `DEADLINE_EXCEEDED`.
 */
export async function runQuery<T = Record<string, unknown>>(query: BigQueryQuery, client?: BigQuery): Promise<T[]> {
  const tier = query.tier ?? 'user';
  const ms = Math.floor(budgetMs(tier));
  if (ms <= 0) throw new DeadlineExceededError(`No time left for ${tier} BigQuery work`);
  const expiresAt = now() + ms;
  const bq = client ?? (await getBigQuery());
  const config = bigQueryConfig();
  const context = getLogContext();
  const options: Query = {
    query: query.sql,
    params: query.params,
    types: query.types as Query['types'],
    useLegacySql: false,
    jobTimeoutMs: ms,
    maximumBytesBilled: String(config.maximumBytesBilled),
    labels: {
      ...(context.function === undefined ? {} : { function: labelValue(context.function) }),
      ...(context.org === undefined ? {} : { org: labelValue(context.org) }),
      ...query.labels,
    },
  };
  let job;
  try {
    [job] = await bq.createQueryJob(options);
  } catch (error) {
    throw mapBigQueryError(error, ms);
  }
  try {
    const remaining = Math.max(1, Math.floor(expiresAt - now()));
    const [rows] = await job.getQueryResults({ timeoutMs: remaining });
    return rows as T[];
  } catch (error) {
    const timedOut = /did not complete before/.test((error as Error).message) || now() >= expiresAt;
    if (timedOut) {
      try {
        await job.cancel();
      } catch (cancelError) {
        log.error('Cancelling a BigQuery job after its budget failed', cancelError, { job_id: job.id });
      }
      throw new DeadlineExceededError(`The BigQuery job did not finish within its ${ms} ms budget; it was cancelled`, error);
    }
    throw mapBigQueryError(error, ms);
  }
}

/**
 * Wraps client errors: timeouts → 504; invalid queries → 500 (we build every query and
 * pass input only as parameters, so a query BigQuery rejects is our bug, never the
 * client's: the wrapper logs it at ERROR with its cause); 5xx and rate limits → 503.
 */
export function mapBigQueryError(error: unknown, ms: number): unknown {
  const reason = reasonOf(error);
  const code = (error as BigQueryApiError | undefined)?.code;
  if (reason === 'timeout' || reason === 'stopped' || /Job timed out|timed out after/i.test((error as Error)?.message ?? '')) {
    return new DeadlineExceededError(`The BigQuery job did not finish within its ${ms} ms budget`, error);
  }
  if (reason === 'invalidQuery') return new InternalError('BigQuery rejected an analytics query the function built', error);
  if (reason === 'backendError' || reason === 'rateLimitExceeded' || (typeof code === 'number' && code >= 500)) {
    return new UnavailableError('BigQuery is unavailable, retry shortly', { cause: error, retryAfterSeconds: 2 });
  }
  return error;
}

import type { BigQuery, Job, Query } from '@google-cloud/bigquery';
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
  const job = await startQueryJob(query, ms, client);
  try {
    const remaining = Math.max(1, Math.floor(expiresAt - now()));
    const [rows] = await job.getQueryResults({ timeoutMs: remaining });
    return rows as T[];
  } catch (error) {
    throw await resultsFailure(job, error, ms, expiresAt);
  }
}

/**
 * The error to throw when reading a job's results failed: out of budget (the client's own
 * wait ran out, or the budget's end has passed) → the job is cancelled on the server and the
 * caller gets `DEADLINE_EXCEEDED`; anything else as {@link mapBigQueryError} maps it. Shared
 * by {@link runQuery} and `queryPages`.
 */
export async function resultsFailure(job: Job, error: unknown, ms: number, expiresAt: number): Promise<unknown> {
  const timedOut = /did not complete before/.test((error as Error).message) || now() >= expiresAt;
  if (!timedOut) return mapBigQueryError(error, ms);
  try {
    await job.cancel();
  } catch (cancelError) {
    log.error('Cancelling a BigQuery job after its budget failed', cancelError, { job_id: job.id });
  }
  return new DeadlineExceededError(`The BigQuery job did not finish within its ${ms} ms budget; it was cancelled`, error);
}

/**
 * BigQuery's answers when a concurrent write to the same table won: a multi-statement
 * transaction cancelled by another transaction or DML on its table ("Transaction is aborted
 * due to concurrent update against table …"), and a DML statement that lost the same race
 * ("Could not serialize access to table … due to concurrent update"). Both come as 400
 * `invalidQuery`, yet the same job succeeds when run again: clients retry them.
 */
const CONCURRENT_UPDATE = /Transaction is aborted due to concurrent update|Could not serialize access to table .* due to concurrent update/i;

/**
 * Wraps client errors: timeouts → 504; a job that lost to a concurrent update of its table
 * → 503 (retryable); invalid queries → 500 (we build every query and pass input only as
 * parameters, so a query BigQuery rejects is our bug, never the client's: the wrapper logs
 * it at ERROR with its cause); 5xx and rate limits → 503.
 */
export function mapBigQueryError(error: unknown, ms: number): unknown {
  const reason = reasonOf(error);
  const code = (error as BigQueryApiError | undefined)?.code;
  const message = (error as Error | undefined)?.message ?? '';
  if (reason === 'timeout' || reason === 'stopped' || /Job timed out|timed out after/i.test(message)) {
    return new DeadlineExceededError(`The BigQuery job did not finish within its ${ms} ms budget`, error);
  }
  if (CONCURRENT_UPDATE.test(message) || CONCURRENT_UPDATE.test((error as BigQueryApiError | undefined)?.errors?.[0]?.message ?? '')) {
    return new UnavailableError('A concurrent update of the same BigQuery table aborted the job; retry shortly', { cause: error, retryAfterSeconds: 2 });
  }
  if (reason === 'invalidQuery') return new InternalError('BigQuery rejected an analytics query the function built', error);
  if (reason === 'backendError' || reason === 'rateLimitExceeded' || (typeof code === 'number' && code >= 500)) {
    return new UnavailableError('BigQuery is unavailable, retry shortly', { cause: error, retryAfterSeconds: 2 });
  }
  return error;
}

/**
 * Creates the query job of `query` with a budget of `ms`: GoogleSQL, `jobTimeoutMs`, the
 * bytes-billed cap, and labels naming the function and org. Shared by {@link runQuery} and
 * `queryPages`, which differ only in how they read the results.
 */
export async function startQueryJob(query: Pick<BigQueryQuery, 'sql' | 'params' | 'types' | 'labels'>, ms: number, client?: BigQuery): Promise<Job> {
  const bq = client ?? (await getBigQuery());
  const context = getLogContext();
  const options: Query = {
    query: query.sql,
    params: query.params,
    types: query.types as Query['types'],
    useLegacySql: false,
    jobTimeoutMs: ms,
    maximumBytesBilled: String(bigQueryConfig().maximumBytesBilled),
    labels: {
      ...(context.function === undefined ? {} : { function: labelValue(context.function) }),
      ...(context.org === undefined ? {} : { org: labelValue(context.org) }),
      ...query.labels,
    },
  };
  try {
    const [job] = await bq.createQueryJob(options);
    return job;
  } catch (error) {
    throw mapBigQueryError(error, ms);
  }
}

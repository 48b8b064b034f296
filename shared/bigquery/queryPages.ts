import type { BigQuery, QueryResultsOptions } from '@google-cloud/bigquery';
import { budgetMs, now } from '../deadline/index.js';
import { DeadlineExceededError } from '../errors/index.js';
import { resultsFailure, startQueryJob, type BigQueryQuery } from './query.js';

/** A query read page by page. */
export interface PagedQuery extends BigQueryQuery {
  /**
   * Rows per page: what one `getQueryResults` call returns, and what the caller holds at once.
   * @default 5000
   */
  pageSize?: number;
}

/**
 * Runs a query as one job (budget, `maximumBytesBilled` and labels as {@link runQuery}) and
 * yields its result a page at a time, so a caller can write each page out before the next
 * is read: memory is one page, whatever the result's size.
 *
 * Pages are fetched by hand with `pageToken`: `getQueryResults({ maxResults })` turns the
 * client's auto-pagination off and would return only the first page. Each fetch waits at
 * most for what is left of the job's budget; past it the job is cancelled and
 * `DEADLINE_EXCEEDED` thrown. A caller that stops early (`break`, a throw) ends the loop;
 * the job's results simply expire.
 */
export async function* queryPages<T = Record<string, unknown>>(query: PagedQuery, client?: BigQuery): AsyncGenerator<T[], void, undefined> {
  const tier = query.tier ?? 'user';
  const ms = Math.floor(budgetMs(tier));
  if (ms <= 0) throw new DeadlineExceededError(`No time left for ${tier} BigQuery work`);
  const expiresAt = now() + ms;
  const job = await startQueryJob(query, ms, client);
  let pageToken: string | undefined;
  do {
    const request: QueryResultsOptions = {
      maxResults: query.pageSize ?? 5000,
      autoPaginate: false,
      timeoutMs: Math.max(1, Math.floor(expiresAt - now())),
      ...(pageToken === undefined ? {} : { pageToken }),
    };
    let rows: T[];
    try {
      const [page, next] = await job.getQueryResults(request);
      rows = page as T[];
      pageToken = next?.pageToken ?? undefined;
    } catch (error) {
      throw await resultsFailure(job, error, ms, expiresAt);
    }
    if (rows.length > 0) yield rows;
  } while (pageToken !== undefined);
}

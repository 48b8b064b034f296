import type { z } from 'zod';
import { PAGE_LIMIT } from './constants.js';
import { ProviderResponseError } from './errors.js';
import { followPages } from './followPages.js';
import { ABSENT, getJson } from './getJson.js';
import { endpoint, type ProviderCall } from './ProviderCall.js';
import type { UsageDay } from './usageDay.js';

/** One page of time buckets, in the terms both providers share once the envelope is read. */
export interface BucketPage<R> {
  buckets: { startMs: number; results: R[] }[];
  hasMore: boolean;
  nextPage: string | null | undefined;
}

/**
 * How one provider's Admin API speaks, the same on every endpoint we read: its auth
 * headers, how a request names the day, how it spells an array parameter, and the page
 * envelope around the results.
 */
export interface Dialect {
  provider: string;
  headers(credential: string): Record<string, string>;
  /** Sets the requested day and `1d` buckets on a request. */
  bounds(params: URLSearchParams, day: UsageDay): void;
  /** The name a grouping field is sent under, once per field (`group_by`, `group_by[]`). */
  groupByParam: string;
  /** The page envelope around `result`, read into a {@link BucketPage}. */
  page<R>(result: z.ZodType<R>): z.ZodType<BucketPage<R>>;
}

/** One endpoint read for one day. */
export interface BucketRead<R> {
  /** Which API, for messages: `usage API`, `costs API`. */
  api: string;
  path: string;
  groupBy: readonly string[];
  /** One result of a bucket; unknown fields are ignored (the APIs add fields). */
  result: z.ZodType<R>;
  onResult(result: R): void;
  /** A 404 on the first page means "this provider has no such endpoint" rather than an error. @default false */
  absentOn404?: boolean;
}

/**
 * Reads every page of one endpoint for `call.day` (one `1d` bucket), handing each result
 * to `onResult`. A page that is not the documented shape, or a bucket that does not start
 * at the requested day's midnight (we asked for exactly that day), is a malformed answer:
 * {@link ProviderResponseError}, neither dropped nor counted. Every request runs inside the
 * call's budget (`call.signal`, `call.remainingMs`).
 *
 * @returns false when the endpoint answered 404 and `absentOn404` is set, true otherwise
 */
export async function readBuckets<R>(call: ProviderCall, dialect: Dialect, read: BucketRead<R>): Promise<boolean> {
  const { day, credential, baseUrl, signal, remainingMs, fetchImpl, retry, maxPages } = call;
  const { provider } = dialect;
  const schema = dialect.page(read.result);
  let present = true;
  await followPages(provider, read.api, maxPages, async (cursor) => {
    const url = endpoint(baseUrl, read.path);
    dialect.bounds(url.searchParams, day);
    for (const field of read.groupBy) url.searchParams.append(dialect.groupByParam, field);
    url.searchParams.set('limit', String(PAGE_LIMIT));
    if (cursor !== undefined) url.searchParams.set('page', cursor);
    const body = await getJson({
      provider,
      api: read.api,
      url,
      headers: dialect.headers(credential),
      signal,
      remainingMs,
      fetchImpl,
      retry,
      // Only the first page can say "no such endpoint"; a 404 mid-way is a broken answer.
      notFound: read.absentOn404 === true && cursor === undefined ? 'absent' : 'error',
    });
    if (body === ABSENT) {
      present = false;
      return { hasMore: false, nextPage: null };
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const where = parsed.error.issues[0]?.path.map(String).join('.') || 'body';
      throw new ProviderResponseError(provider, `The ${provider} ${read.api} answered a page that is not the documented shape (${where})`, parsed.error);
    }
    for (const bucket of parsed.data.buckets) {
      if (bucket.startMs !== day.startMs) {
        throw new ProviderResponseError(provider, `The ${provider} ${read.api} answered a bucket outside the requested day`);
      }
      for (const result of bucket.results) read.onResult(result);
    }
    return { hasMore: parsed.data.hasMore, nextPage: parsed.data.nextPage };
  });
  return present;
}

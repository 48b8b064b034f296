import { ProviderResponseError } from './errors.js';

/** What one page said about the next one. */
export interface PageLink {
  hasMore: boolean;
  nextPage: string | null | undefined;
}

/**
 * Calls `fetchPage` with each cursor (`undefined` first) while the provider says
 * `has_more`, at most `maxPages` times. A provider that keeps saying `has_more` past the
 * cap, repeats a cursor, or says `has_more` without a cursor is answering something we
 * cannot finish: {@link ProviderResponseError}, never a hang. `api` names the endpoint's
 * API in messages (`usage API`, `costs API`).
 */
export async function followPages(provider: string, api: string, maxPages: number, fetchPage: (cursor: string | undefined) => Promise<PageLink>): Promise<number> {
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (let pages = 1; ; pages += 1) {
    const { hasMore, nextPage } = await fetchPage(cursor);
    if (!hasMore) return pages;
    if (nextPage === null || nextPage === undefined || nextPage === '') {
      throw new ProviderResponseError(provider, `The ${provider} ${api} said there are more pages but gave no cursor`);
    }
    if (seen.has(nextPage)) throw new ProviderResponseError(provider, `The ${provider} ${api} repeated a page cursor`);
    if (pages >= maxPages) throw new ProviderResponseError(provider, `The ${provider} ${api} had more than ${maxPages} pages for one day`);
    seen.add(nextPage);
    cursor = nextPage;
  }
}

import { TOKEN_CLASSES, tokenCounts, type TokenCounts, type UsageRow } from '../usage/index.js';
import { ProviderResponseError } from './errors.js';

/** What one usage row is kept apart by, beside its day and provider. */
export interface UsageGrain {
  model: string;
  service_tier: string;
  project_id: string | null;
  api_key_id: string | null;
}

/**
 * One provider's usage of one day, summed per grain (model, service tier, project, API
 * key): a grain the provider reports in several results — on several pages, or from
 * several endpoints — becomes one row, each class summed apart. Every sum stays a safe
 * integer, or the answer is refused: a count that cannot be held exactly is not a count.
 */
export class UsageTotals {
  readonly #rows = new Map<string, UsageRow>();
  readonly #provider: string;
  readonly #date: string;

  constructor(provider: string, date: string) {
    this.#provider = provider;
    this.#date = date;
  }

  add(grain: UsageGrain, requests: number, tokens: TokenCounts): void {
    const key = JSON.stringify([grain.model, grain.service_tier, grain.project_id, grain.api_key_id]);
    const row = this.#rows.get(key) ?? { usage_date: this.#date, provider: this.#provider, ...grain, requests: 0, tokens: tokenCounts() };
    const next: UsageRow = { ...row, requests: row.requests + requests, tokens: { ...row.tokens } };
    for (const c of TOKEN_CLASSES) next.tokens[c] += tokens[c];
    if (!Number.isSafeInteger(next.requests) || TOKEN_CLASSES.some((c) => !Number.isSafeInteger(next.tokens[c]))) {
      throw new ProviderResponseError(this.#provider, `The ${this.#provider} usage API reported more usage of one model than can be counted exactly`);
    }
    this.#rows.set(key, next);
  }

  /** The rows, in the order their grains were first seen. */
  rows(): UsageRow[] {
    return [...this.#rows.values()];
  }
}

import { formatUsd, type Nanos } from '../money/index.js';
import type { BilledRow } from '../usage/index.js';

/** What one billed line is kept apart by, beside its day and provider. */
export interface BilledGrain {
  project_id: string | null;
  model: string | null;
  service_tier: string | null;
  description: string | null;
}

/**
 * The provider's own bill for one day, summed exactly (nano-dollars) per line: a line
 * the provider reports in several results (on several pages, or split by a field we do
 * not keep, such as Anthropic's context window) becomes one row.
 */
export class BilledTotals {
  readonly #lines = new Map<string, { grain: BilledGrain; nanos: Nanos }>();
  readonly #provider: string;
  readonly #date: string;

  constructor(provider: string, date: string) {
    this.#provider = provider;
    this.#date = date;
  }

  add(grain: BilledGrain, nanos: Nanos): void {
    const key = JSON.stringify([grain.project_id, grain.model, grain.service_tier, grain.description]);
    const line = this.#lines.get(key);
    this.#lines.set(key, { grain, nanos: (line?.nanos ?? 0n) + nanos });
  }

  /** The rows, amounts as NUMERIC text (`"1.237891200"`), in the order their lines were first seen. */
  rows(): BilledRow[] {
    return [...this.#lines.values()].map(({ grain, nanos }) => ({
      usage_date: this.#date,
      provider: this.#provider,
      project_id: grain.project_id,
      model: grain.model,
      service_tier: grain.service_tier,
      description: grain.description,
      amount_usd: formatUsd(nanos),
    }));
  }
}

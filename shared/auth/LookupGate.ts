import { UnavailableError } from '../errors/index.js';

/** Counters of a {@link LookupGate} (health, tests). */
export interface LookupGateStats {
  /** Lookups run so far. */
  started: number;
  /** Callers that joined a lookup already in flight for the same key. */
  joined: number;
  /** Callers refused because `max` lookups were running. */
  refused: number;
  /** Lookups running now. */
  running: number;
  max: number;
}

/**
 * Caps the lookups that missed every cache, per instance: at most `max` run at once, a
 * caller asking for a key already being looked up joins that lookup, and the excess is
 * refused at once with `503 UNAVAILABLE` and `Retry-After` — never queued for the pool,
 * where it would wait in front of tenants whose keys are cached. So a flood of unknown
 * keys costs at most `max` connections, whatever its size.
 */
export class LookupGate<T> {
  readonly #inFlight = new Map<string, Promise<T>>();
  readonly #stats: LookupGateStats;

  constructor(max: number) {
    this.#stats = { started: 0, joined: 0, refused: 0, running: 0, max };
  }

  /** Runs `load` for `key`, or joins the run in flight for it; rejects with `UNAVAILABLE` when full. */
  run(key: string, load: () => Promise<T>): Promise<T> {
    const joined = this.#inFlight.get(key);
    if (joined !== undefined) {
      this.#stats.joined += 1;
      return joined;
    }
    if (this.#stats.running >= this.#stats.max) {
      this.#stats.refused += 1;
      return Promise.reject(new UnavailableError('Too many API keys are being checked at once; retry shortly', { retryAfterSeconds: 1 }));
    }
    this.#stats.running += 1;
    this.#stats.started += 1;
    const pending = load().finally(() => {
      this.#stats.running -= 1;
      this.#inFlight.delete(key);
    });
    this.#inFlight.set(key, pending);
    return pending;
  }

  stats(): LookupGateStats {
    return { ...this.#stats };
  }
}

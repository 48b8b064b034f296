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

/** How many callers may wait for a lookup slot, and for how long, before they are refused. */
export interface LookupGateOptions {
  /** Lookups at once. */
  max: number;
  /** Callers that may wait for a free slot; beyond them, refused at once. @default 64 */
  queueMax?: number;
  /** How long a caller waits for a slot before it is refused. @default 2000 */
  maxWaitMs?: number;
}

/**
 * Caps the lookups that missed every cache, per instance: at most `max` run at once, a
 * caller asking for a key already being looked up joins that lookup, a short bounded queue
 * (`queueMax` callers, `maxWaitMs` each) absorbs a burst of legitimate first calls — a
 * lookup takes about a millisecond — and the excess is refused at once with
 * `503 UNAVAILABLE` and `Retry-After`, never queued for the pool, where it would wait in
 * front of tenants whose keys are cached. So a flood of unknown keys costs at most `max`
 * connections and `queueMax` waiting callers, whatever its size.
 */
export class LookupGate<T> {
  readonly #inFlight = new Map<string, Promise<T>>();
  readonly #waiting: (() => void)[] = [];
  readonly #stats: LookupGateStats;
  readonly #queueMax: number;
  readonly #maxWaitMs: number;

  constructor(options: number | LookupGateOptions) {
    const { max, queueMax = 64, maxWaitMs = 2_000 } = typeof options === 'number' ? { max: options } : options;
    this.#stats = { started: 0, joined: 0, refused: 0, running: 0, max };
    this.#queueMax = queueMax;
    this.#maxWaitMs = maxWaitMs;
  }

  /** Runs `load` for `key`, or joins the run in flight for it; rejects with `UNAVAILABLE` when full. */
  run(key: string, load: () => Promise<T>): Promise<T> {
    const joined = this.#inFlight.get(key);
    if (joined !== undefined) {
      this.#stats.joined += 1;
      return joined;
    }
    if (this.#stats.running < this.#stats.max) return this.#start(key, load);
    if (this.#waiting.length >= this.#queueMax) return this.#refuse();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = this.#waiting.indexOf(wake);
        if (index !== -1) this.#waiting.splice(index, 1);
        this.#refuse().catch(reject);
      }, this.#maxWaitMs);
      const wake = (): void => {
        clearTimeout(timer);
        // The key may have come in flight while we waited: join it rather than look it up twice.
        const now = this.#inFlight.get(key);
        if (now !== undefined) {
          this.#stats.joined += 1;
          this.#stats.running -= 1; // the slot handed to us is not used
          this.#next();
          now.then(resolve, reject);
          return;
        }
        this.#run(key, load).then(resolve, reject);
      };
      this.#waiting.push(wake);
    });
  }

  stats(): LookupGateStats {
    return { ...this.#stats };
  }

  #refuse(): Promise<T> {
    this.#stats.refused += 1;
    return Promise.reject(new UnavailableError('Too many API keys are being checked at once; retry shortly', { retryAfterSeconds: 1 }));
  }

  #start(key: string, load: () => Promise<T>): Promise<T> {
    this.#stats.running += 1;
    return this.#run(key, load);
  }

  /** Runs `load` in a slot already counted in `running`; hands the slot on when done. */
  #run(key: string, load: () => Promise<T>): Promise<T> {
    this.#stats.started += 1;
    const pending = Promise.resolve()
      .then(load)
      .finally(() => {
        this.#inFlight.delete(key);
        this.#stats.running -= 1;
        this.#next();
      });
    this.#inFlight.set(key, pending);
    return pending;
  }

  /** Gives a free slot to the longest-waiting caller. */
  #next(): void {
    if (this.#stats.running >= this.#stats.max) return;
    const wake = this.#waiting.shift();
    if (wake === undefined) return;
    this.#stats.running += 1;
    wake();
  }
}

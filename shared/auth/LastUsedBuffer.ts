import { log } from '../log/index.js';
import type { Db } from '../db/index.js';

export interface LastUsedBufferOptions {
  /** Flush once this many keys are waiting. @default 100 */
  maxKeys?: number;
  /** Flush once the oldest waiting use is this old. @default 30000 */
  maxAgeMs?: number;
  now?: () => number;
}

/**
 * Buffers API-key `last_used_at` updates and writes them in one statement per batch —
 * never one UPDATE per request. Flushed when due (size or age) at the end of an
 * invocation, and on shutdown. A failed flush keeps its entries for the next one.
 */
export class LastUsedBuffer {
  readonly #pending = new Map<string, Date>();
  readonly #maxKeys: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  #oldest: number | undefined;
  #flushing: Promise<void> | undefined;
  /** Batches written so far (operators and tests read it). */
  writes = 0;

  constructor({ maxKeys = 100, maxAgeMs = 30_000, now = Date.now }: LastUsedBufferOptions = {}) {
    this.#maxKeys = maxKeys;
    this.#maxAgeMs = maxAgeMs;
    this.#now = now;
  }

  /** Notes that `keyId` was used now. */
  record(keyId: string): void {
    const at = this.#now();
    this.#pending.set(keyId, new Date(at));
    this.#oldest ??= at;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** True when a flush is owed: enough keys, or the oldest use is old enough. */
  isDue(): boolean {
    if (this.#pending.size === 0) return false;
    return this.#pending.size >= this.#maxKeys || this.#now() - (this.#oldest ?? this.#now()) >= this.#maxAgeMs;
  }

  /** Writes everything pending in one UPDATE. Concurrent calls share one flush. */
  flush(getDb: () => Promise<Db>): Promise<void> {
    this.#flushing ??= this.#write(getDb).finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #write(getDb: () => Promise<Db>): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = new Map(this.#pending);
    this.#pending.clear();
    this.#oldest = undefined;
    try {
      const db = await getDb();
      await db.query(
        `UPDATE api_keys AS k SET last_used_at = v.used_at
           FROM (SELECT unnest($1::uuid[]) AS id, unnest($2::timestamptz[]) AS used_at) AS v
          WHERE k.id = v.id AND (k.last_used_at IS NULL OR k.last_used_at < v.used_at)`,
        [[...batch.keys()], [...batch.values()]],
        { tier: 'auth' },
      );
      this.writes += 1;
    } catch (error) {
      // Keep the uses for the next flush; a newer use recorded meanwhile wins.
      for (const [id, at] of batch) if (!this.#pending.has(id)) this.#pending.set(id, at);
      this.#oldest ??= this.#now();
      log.error('Writing API key last-used times failed; kept for the next flush', error, { keys: batch.size });
      throw error;
    }
  }
}

import { LRUCache } from 'lru-cache';
import { registerCache } from './cacheReport.js';
import { CacheCounters, type CacheStats } from './stats.js';

/** A monotonic clock in ms; injectable so TTL tests need no sleeping. */
export interface Clock {
  now(): number;
}

export interface BoundedCacheOptions<V = unknown> {
  /** Entries at most; the least recently used goes first. */
  maxEntries: number;
  /** Time to live of an entry. */
  ttlMs: number;
  clock?: Clock;
  /** Counters shared with an owner (a tenant cache aggregates its scopes). */
  counters?: CacheCounters[];
  /** Names the cache in the instance's cache report (logged at shutdown); unnamed caches are not reported. */
  name?: string;
  /**
   * The approximate bytes an entry holds, for caches whose values vary in size: their
   * total is kept ({@link BoundedCache.bytes}) so an owner can cap it. Must give the same
   * answer for the same value every time.
   */
  sizeOf?: (value: V) => number;
  /** With `sizeOf`: an entry larger than this is not stored. @default no limit */
  maxEntryBytes?: number;
}

/**
 * LRU + TTL on `lru-cache`, with exact counters. Expiry is checked on read — no purge
 * timers (`ttlAutopurge: false`, `ttlResolution: 0`): nothing runs between requests, when
 * Cloud Run may give the instance no CPU.
 */
export class BoundedCache<V extends object | string | number | boolean> {
  readonly #lru: LRUCache<string, V>;
  readonly #counters: CacheCounters[];
  readonly #own = new CacheCounters();
  #deleting = false;

  constructor({ maxEntries, ttlMs, clock, counters = [], name, sizeOf, maxEntryBytes }: BoundedCacheOptions<V>) {
    if (name !== undefined) registerCache(name, () => this.stats());
    this.#counters = [this.#own, ...counters];
    this.#lru = new LRUCache<string, V>({
      max: maxEntries,
      ttl: ttlMs,
      ttlAutopurge: false,
      ttlResolution: 0,
      updateAgeOnGet: false,
      allowStale: false,
      ...(clock === undefined ? {} : { perf: clock }),
      // lru-cache keeps the sizes' total (`calculatedSize`) once entries have a size limit.
      ...(sizeOf === undefined ? {} : { sizeCalculation: (value: V) => Math.max(1, Math.ceil(sizeOf(value))), maxEntrySize: maxEntryBytes ?? Number.MAX_SAFE_INTEGER }),
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.#count('evictions');
        else if (reason === 'expire') this.#count('expirations');
        else if (reason === 'delete' && this.#deleting) this.#count('invalidations');
      },
    });
  }

  #count(field: 'hits' | 'misses' | 'sets' | 'evictions' | 'expirations' | 'invalidations'): void {
    for (const c of this.#counters) c[field] += 1;
  }

  get(key: string): V | undefined {
    const value = this.#lru.get(key);
    this.#count(value === undefined ? 'misses' : 'hits');
    return value;
  }

  set(key: string, value: V, ttlMs?: number): void {
    this.#lru.set(key, value, ttlMs === undefined ? undefined : { ttl: ttlMs });
    this.#count('sets');
  }

  /** Removes one entry; counts as an invalidation when it existed. */
  delete(key: string): boolean {
    this.#deleting = true;
    try {
      return this.#lru.delete(key);
    } finally {
      this.#deleting = false;
    }
  }

  /** Removes every entry whose key starts with `prefix`; returns how many. */
  deletePrefix(prefix: string): number {
    let removed = 0;
    for (const key of [...this.#lru.keys()]) {
      if (key.startsWith(prefix) && this.delete(key)) removed += 1;
    }
    return removed;
  }

  /** Removes everything; each entry counts as an invalidation. */
  clear(): number {
    return this.deletePrefix('');
  }

  /**
   * Evicts the least recently used entry (global pressure); true when one was removed.
   * `pop()` disposes with reason `'evict'`, so the eviction is counted there, once.
   */
  evictOldest(): boolean {
    const before = this.#lru.size;
    this.#lru.pop();
    return this.#lru.size < before;
  }

  /** Drops expired entries now (counts expirations). */
  purgeExpired(): void {
    this.#lru.purgeStale();
  }

  get size(): number {
    return this.#lru.size;
  }

  /** The entries' total `sizeOf` (0 for a cache without one). */
  get bytes(): number {
    return this.#lru.calculatedSize;
  }

  stats(): CacheStats {
    return this.#own.snapshot(this.#lru.size);
  }
}

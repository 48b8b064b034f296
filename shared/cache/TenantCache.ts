import { BoundedCache, type Clock } from './BoundedCache.js';
import { registerCache } from './cacheReport.js';
import { CacheCounters, type CacheStats } from './stats.js';

export interface TenantCacheOptions<V = unknown> {
  /** Entries across all tenants. @default 10000 */
  maxEntries?: number;
  /** Entries one tenant may hold, so one tenant cannot evict everyone. @default 1000 */
  maxEntriesPerTenant?: number;
  /** @default 30000 */
  ttlMs?: number;
  clock?: Clock;
  /** Names the cache in the instance's cache report (logged at shutdown); unnamed caches are not reported. */
  name?: string;
  /**
   * For values whose size varies (a page of a list): their approximate bytes. With
   * `maxBytes`, the total across tenants is capped like the entry count — the least
   * recently active tenant loses its oldest entries first — so the cache's memory is
   * bounded by bytes, not only by entries of any size.
   */
  sizeOf?: (value: V) => number;
  /** The cap on the `sizeOf` total across tenants (requires `sizeOf`); one entry larger than it is not cached. */
  maxBytes?: number;
}

/** A tenant cache's counters across tenants: how many tenants hold entries, and the entries' `sizeOf` total when it sizes them. */
export type TenantCacheStats = CacheStats & { tenants: number; bytes?: number };

/**
 * The only way to reach a tenant's entries: a scope bound to that tenant. There is no
 * API that takes a tenant id and a key together, so isolation holds by construction.
 */
export interface TenantScope<V> {
  readonly tenantId: string;
  get(key: string): V | undefined;
  set(key: string, value: V, ttlMs?: number): void;
  /**
   * Returns the cached value — at once, not in a promise: a hit on the hot path makes none
   * — or loads it once, sharing one load among concurrent callers.
   */
  getOrLoad(key: string, load: () => Promise<V>, ttlMs?: number): V | Promise<V>;
  invalidate(key: string): boolean;
  invalidatePrefix(prefix: string): number;
  invalidateAll(): number;
  stats(): CacheStats;
}

/** A `getOrLoad` in flight; `invalidated` once an invalidation covered its key while it ran. */
interface Load<V> {
  promise: Promise<V>;
  invalidated: boolean;
}

/**
 * A bounded, tenant-isolated LRU + TTL cache (guarantee 4): one LRU per tenant (capped),
 * and a global cap enforced by evicting from the least recently active tenant.
 */
export class TenantCache<V extends object | string | number | boolean> {
  readonly #maxEntries: number;
  readonly #maxPerTenant: number;
  readonly #ttlMs: number;
  readonly #clock: Clock | undefined;
  readonly #sizeOf: ((value: V) => number) | undefined;
  readonly #maxBytes: number;
  readonly #counters = new CacheCounters();
  /** Map order is recency of tenant activity: a touched tenant is moved to the end. */
  readonly #tenants = new Map<string, BoundedCache<V>>();
  readonly #loading = new Map<string, Map<string, Load<V>>>();
  #size = 0;
  /** The `sizeOf` total across tenants (0 without `sizeOf`). */
  #bytes = 0;

  constructor({ maxEntries = 10_000, maxEntriesPerTenant = 1_000, ttlMs = 30_000, clock, name, sizeOf, maxBytes }: TenantCacheOptions<V> = {}) {
    if (maxBytes !== undefined && sizeOf === undefined) throw new Error('A byte cap needs sizeOf');
    if (name !== undefined) registerCache(name, () => this.stats());
    this.#sizeOf = sizeOf;
    this.#maxBytes = maxBytes ?? Number.POSITIVE_INFINITY;
    this.#maxEntries = maxEntries;
    this.#maxPerTenant = Math.min(maxEntriesPerTenant, maxEntries);
    this.#ttlMs = ttlMs;
    this.#clock = clock;
  }

  /** The scope of one tenant. Cheap: call it per request. */
  forTenant(tenantId: string): TenantScope<V> {
    if (tenantId === '') throw new Error('A tenant id is required');
    return {
      tenantId,
      get: (key) => this.#get(tenantId, key),
      set: (key, value, ttlMs) => this.#set(tenantId, key, value, ttlMs),
      getOrLoad: (key, load, ttlMs) => this.#getOrLoad(tenantId, key, load, ttlMs),
      invalidate: (key) => {
        this.#forgetLoads(tenantId, (k) => k === key);
        return this.#withTenant(tenantId, (c) => c.delete(key), false);
      },
      invalidatePrefix: (prefix) => {
        this.#forgetLoads(tenantId, (k) => k.startsWith(prefix));
        return this.#withTenant(tenantId, (c) => c.deletePrefix(prefix), 0);
      },
      invalidateAll: () => this.invalidateTenant(tenantId),
      stats: () => this.#tenants.get(tenantId)?.stats() ?? new CacheCounters().snapshot(0),
    };
  }

  /** Drops every entry of one tenant (e.g. the org was suspended). */
  invalidateTenant(tenantId: string): number {
    this.#forgetLoads(tenantId, () => true);
    const removed = this.#withTenant(tenantId, (c) => c.clear(), 0);
    this.#tenants.delete(tenantId);
    return removed;
  }

  /** Totals across tenants; `bytes` when the cache sizes its values. */
  stats(): TenantCacheStats {
    return { ...this.#counters.snapshot(this.#size), tenants: this.#tenants.size, ...(this.#sizeOf === undefined ? {} : { bytes: this.#bytes }) };
  }

  /**
   * Runs `fn` on a tenant's LRU and keeps the global size exact: every change of size
   * (sets, evictions, expiries found on read, deletes) happens inside this wrapper.
   */
  #withTenant<T>(tenantId: string, fn: (cache: BoundedCache<V>) => T, absent: T): T {
    const cache = this.#tenants.get(tenantId);
    if (cache === undefined) return absent;
    const before = cache.size;
    const bytesBefore = cache.bytes;
    try {
      return fn(cache);
    } finally {
      this.#size += cache.size - before;
      this.#bytes += cache.bytes - bytesBefore;
      if (cache.size === 0) this.#tenants.delete(tenantId);
    }
  }

  #get(tenantId: string, key: string): V | undefined {
    if (!this.#tenants.has(tenantId)) {
      this.#counters.misses += 1;
      return undefined;
    }
    this.#touch(tenantId);
    return this.#withTenant(tenantId, (c) => c.get(key), undefined);
  }

  #set(tenantId: string, key: string, value: V, ttlMs?: number): void {
    if (!this.#tenants.has(tenantId)) {
      this.#tenants.set(
        tenantId,
        new BoundedCache<V>({
          maxEntries: this.#maxPerTenant,
          ttlMs: this.#ttlMs,
          clock: this.#clock,
          counters: [this.#counters],
          ...(this.#sizeOf === undefined ? {} : { sizeOf: this.#sizeOf, maxEntryBytes: this.#maxBytes }),
        }),
      );
    }
    this.#touch(tenantId);
    this.#withTenant(tenantId, (c) => c.set(key, value, ttlMs), undefined);
    this.#enforceGlobalCap(tenantId);
  }

  #getOrLoad(tenantId: string, key: string, load: () => Promise<V>, ttlMs?: number): V | Promise<V> {
    const hit = this.#get(tenantId, key);
    if (hit !== undefined) return hit;
    let inflight = this.#loading.get(tenantId);
    const pending = inflight?.get(key);
    if (pending !== undefined) return pending.promise;
    if (inflight === undefined) {
      inflight = new Map();
      this.#loading.set(tenantId, inflight);
    }
    const loads = inflight;
    const record = { invalidated: false } as Load<V>;
    // Registered before the load starts, so a loader that throws synchronously is forgotten too.
    loads.set(key, record);
    record.promise = (async () => {
      try {
        const value = await load();
        // Invalidated while loading: the value may predate the change. The callers who
        // asked before the change get it; the cache does not keep it.
        if (!record.invalidated) this.#set(tenantId, key, value, ttlMs);
        return value;
      } finally {
        if (loads.get(key) === record) loads.delete(key);
        if (loads.size === 0 && this.#loading.get(tenantId) === loads) this.#loading.delete(tenantId);
      }
    })();
    return record.promise;
  }

  /** Detaches in-flight loads of matching keys: later callers start a fresh load. */
  #forgetLoads(tenantId: string, matches: (key: string) => boolean): void {
    const loads = this.#loading.get(tenantId);
    if (loads === undefined) return;
    for (const [key, record] of loads) {
      if (!matches(key)) continue;
      record.invalidated = true;
      loads.delete(key);
    }
    if (loads.size === 0) this.#loading.delete(tenantId);
  }

  #touch(tenantId: string): void {
    const cache = this.#tenants.get(tenantId);
    if (cache === undefined) return;
    this.#tenants.delete(tenantId);
    this.#tenants.set(tenantId, cache);
  }

  /** Global pressure (entries or bytes): evict from the least recently active tenant other than the writer when possible. */
  #enforceGlobalCap(writer: string): void {
    while (this.#size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      let victim: [string, BoundedCache<V>] | undefined;
      for (const entry of this.#tenants) {
        if (entry[0] !== writer && entry[1].size > 0) {
          victim = entry;
          break;
        }
      }
      const victimId = victim?.[0] ?? writer;
      if (!this.#withTenant(victimId, (c) => c.evictOldest(), false)) break;
    }
  }
}

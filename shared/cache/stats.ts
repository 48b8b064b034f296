/** Counters every cache keeps; `hitRate` is hits / (hits + misses). */
export interface CacheStats {
  hits: number;
  misses: number;
  sets: number;
  evictions: number;
  expirations: number;
  invalidations: number;
  hitRate: number;
  size: number;
}

/** Mutable counters behind {@link CacheStats}. */
export class CacheCounters {
  hits = 0;
  misses = 0;
  sets = 0;
  evictions = 0;
  expirations = 0;
  invalidations = 0;

  snapshot(size: number): CacheStats {
    const lookups = this.hits + this.misses;
    return {
      hits: this.hits,
      misses: this.misses,
      sets: this.sets,
      evictions: this.evictions,
      expirations: this.expirations,
      invalidations: this.invalidations,
      hitRate: lookups === 0 ? 0 : this.hits / lookups,
      size,
    };
  }
}

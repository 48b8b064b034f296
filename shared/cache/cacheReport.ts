import type { CacheStats } from './stats.js';

/** Named caches of this instance and how to read their counters. */
const named = new Map<string, () => CacheStats>();

/**
 * Registers a cache under `name` for {@link cacheReport}. The first registration of a name
 * wins (a module evaluated twice must not double-count), and a cache lives as long as the
 * instance, so nothing is ever unregistered.
 */
export function registerCache(name: string, stats: () => CacheStats): void {
  if (!named.has(name)) named.set(name, stats);
}

/**
 * Every named cache's counters (size, hits, misses, evictions, hit rate), by name. Logged
 * with the instance's last line at shutdown, so an operator — and `npm run bench:soak` —
 * can see whether the caches were the right size for the traffic the instance served.
 */
export function cacheReport(): Record<string, CacheStats> {
  return Object.fromEntries([...named].map(([name, stats]) => [name, stats()]));
}

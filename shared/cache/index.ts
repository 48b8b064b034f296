/** Bounded, tenant-isolated LRU + TTL caches (guarantee 4). */
export { TenantCache, type TenantCacheOptions, type TenantCacheStats, type TenantScope } from './TenantCache.js';
export { BoundedCache, type BoundedCacheOptions, type Clock } from './BoundedCache.js';
export { cacheReport } from './cacheReport.js';
export type { CacheStats } from './stats.js';

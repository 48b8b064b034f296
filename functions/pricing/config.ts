import { envInt, parseEnv, type Env, type EnvValues } from '../../shared/config/index.js';

const pricingConfigEnv = {
  /**
   * How long a cached page lives. A write invalidates its tenant's pages on the instance
   * that served it at once; other instances show it within this time. @default 30000
   */
  PRICING_CACHE_TTL_MS: envInt({ min: 0, max: 600_000, default: 30_000 }),
  /** Pages cached across all tenants of an instance. @default 10000 */
  PRICING_CACHE_MAX_ENTRIES: envInt({ min: 1, max: 1_000_000, default: 10_000 }),
  /** Pages cached for one tenant, so one tenant cannot push everyone else out. @default 200 */
  PRICING_CACHE_MAX_ENTRIES_PER_TENANT: envInt({ min: 1, max: 100_000, default: 200 }),
  /**
   * The cached pages' JSON across all tenants of an instance, in bytes: pages differ in
   * size, so an entry count alone does not bound the memory. @default 67108864 (64 MiB of
   * an instance's 512 MiB)
   */
  PRICING_CACHE_MAX_BYTES: envInt({ min: 1_048_576, max: 1_073_741_824, default: 67_108_864 }),
};

export type PricingConfig = EnvValues<typeof pricingConfigEnv>;

/** Parsed at module load, so a bad value stops the function before its first request. */
export function parsePricingConfig(env: Env = process.env): PricingConfig {
  return parseEnv(pricingConfigEnv, env);
}

import { envInt, parseEnv, type Env, type EnvValues } from '../../shared/config/index.js';

const costsConfigEnv = {
  /**
   * How long an answer is reused for the same tenant and query. Usage is loaded once a
   * day per pipeline run, so a minute of staleness is invisible while it spares BigQuery
   * (billed per query) the dashboard's repeated loads. 0 turns the cache off.
   * @default 60000
   */
  COSTS_CACHE_TTL_MS: envInt({ min: 0, max: 3_600_000, default: 60_000 }),
  /**
   * Rows per BigQuery page (and per SaaS batch) of `/v1/costs/export`: what the export holds
   * in memory at once — each usage row becomes up to 8 FOCUS rows. At 5,000 a year's export
   * peaked at +255 MiB (CSV) and +353 MiB (JSONL) over idle against +42 MiB for 30 days
   * (bench:spend); see README, "Benchmarks: all spend". Small values exist for tests that
   * prove the paging.
   * @default 1000
   */
  COSTS_EXPORT_PAGE_SIZE: envInt({ min: 1, max: 100_000, default: 1000 }),
};

export type CostsConfig = EnvValues<typeof costsConfigEnv>;

/** Parsed at module load, so a bad value stops the function from starting. */
export function parseCostsConfig(env: Env = process.env): CostsConfig {
  return parseEnv(costsConfigEnv, env);
}

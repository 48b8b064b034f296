/**
 * Timeout tiers in milliseconds. A piece of work gets `min(tier, time left in the
 * invocation)` — never the tier alone.
 */
export const TIERS = {
  /** API-key lookups and other auth checks. */
  auth: 10_000,
  /** Interactive tenant requests. */
  user: 30_000,
  /** Calls to third-party providers. */
  integration: 60_000,
  /** Onboarding, bulk imports, pipeline runs. */
  batch: 300_000,
} as const;

export type Tier = keyof typeof TIERS;

export const TIER_NAMES = Object.keys(TIERS) as Tier[];

/** Time kept back from the platform timeout to write the answer and clean up (set once, in config). */
export { DEFAULT_SAFETY_MARGIN_MS } from '../config/index.js';

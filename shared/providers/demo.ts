import { createHash } from 'node:crypto';
import { ORG_SLUG_PATTERN } from '../analytics/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { mulberry32 } from './mulberry32.js';
import { usageDay } from './usageDay.js';
import type { UsageRow } from './UsageRow.js';

/** A demo model: list prices in micro-USD per 1,000 tokens, typical daily volume. */
export interface DemoModel {
  provider: string;
  model: string;
  inputMicrosPer1k: number;
  outputMicrosPer1k: number;
  requestsPerDay: number;
  inputTokensPerRequest: number;
  outputTokensPerRequest: number;
}

/** Prices roughly as published in 2024; only their order of magnitude matters for a demo. */
export const DEMO_MODELS: readonly DemoModel[] = [
  { provider: 'anthropic', model: 'claude-3-5-sonnet', inputMicrosPer1k: 3000, outputMicrosPer1k: 15000, requestsPerDay: 800, inputTokensPerRequest: 1500, outputTokensPerRequest: 500 },
  { provider: 'anthropic', model: 'claude-3-haiku', inputMicrosPer1k: 250, outputMicrosPer1k: 1250, requestsPerDay: 2500, inputTokensPerRequest: 600, outputTokensPerRequest: 200 },
  { provider: 'google', model: 'gemini-1.5-flash', inputMicrosPer1k: 75, outputMicrosPer1k: 300, requestsPerDay: 3000, inputTokensPerRequest: 800, outputTokensPerRequest: 200 },
  { provider: 'google', model: 'gemini-1.5-pro', inputMicrosPer1k: 1250, outputMicrosPer1k: 5000, requestsPerDay: 400, inputTokensPerRequest: 2000, outputTokensPerRequest: 400 },
  { provider: 'mistral', model: 'mistral-large', inputMicrosPer1k: 2000, outputMicrosPer1k: 6000, requestsPerDay: 300, inputTokensPerRequest: 1000, outputTokensPerRequest: 300 },
  { provider: 'openai', model: 'gpt-4o', inputMicrosPer1k: 2500, outputMicrosPer1k: 10000, requestsPerDay: 1200, inputTokensPerRequest: 900, outputTokensPerRequest: 350 },
  { provider: 'openai', model: 'gpt-4o-mini', inputMicrosPer1k: 150, outputMicrosPer1k: 600, requestsPerDay: 5000, inputTokensPerRequest: 700, outputTokensPerRequest: 250 },
];

/**
 * The providers the demo pipeline covers: every provider of {@link DEMO_MODELS}, sorted.
 * The worker replaces exactly these providers' rows of the day (see `UsageFetch`).
 */
export const DEMO_PROVIDERS: readonly string[] = [...new Set(DEMO_MODELS.map((m) => m.provider))].sort();

/** A 32-bit seed from text. */
function seedOf(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

/**
 * The demo usage of one org on one UTC day, computed without any I/O: one row per demo
 * model that had usage (about one model-day in ten has none; weekends are quieter). Each
 * row's numbers come from a PRNG seeded by (org, date, provider, model) alone, so the same
 * org and day give the same rows whenever and wherever they are generated — the demo seed
 * (`dev/seedDemo.ts`, 90 days) and the `demo_usage_daily` pipeline (one day) agree row for
 * row — and two orgs get different numbers (each org also has its own volume scale).
 *
 * @throws InvalidArgumentError when the slug or the date is not valid
 */
export function demoUsageForDay({ orgSlug, date }: { orgSlug: string; date: string }): UsageRow[] {
  if (!ORG_SLUG_PATTERN.test(orgSlug)) {
    throw new InvalidArgumentError('Invalid org slug', [{ path: 'org_slug', message: `not a valid org slug: ${JSON.stringify(orgSlug)}` }]);
  }
  const { startMs } = usageDay(date);
  const orgScale = 0.5 + mulberry32(seedOf(`scale|${orgSlug}`))() * 2;
  const weekday = new Date(startMs).getUTCDay();
  const dayFactor = weekday === 0 || weekday === 6 ? 0.4 : 1;
  const rows: UsageRow[] = [];
  for (const m of DEMO_MODELS) {
    const random = mulberry32(seedOf(`${orgSlug}|${date}|${m.provider}|${m.model}`));
    if (random() < 0.1) continue;
    const requests = Math.max(1, Math.round(m.requestsPerDay * orgScale * dayFactor * (0.5 + random())));
    const inputTokens = Math.round(requests * m.inputTokensPerRequest * (0.7 + 0.6 * random()));
    const outputTokens = Math.round(requests * m.outputTokensPerRequest * (0.7 + 0.6 * random()));
    rows.push({ usage_date: date, provider: m.provider, model: m.model, requests, input_tokens: inputTokens, output_tokens: outputTokens });
  }
  return rows;
}

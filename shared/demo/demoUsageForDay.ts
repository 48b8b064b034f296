import { createHash } from 'node:crypto';
import { ORG_SLUG_PATTERN } from '../analytics/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { tokenCounts, type ServiceTier, type TokenCounts, type UsageRow } from '../usage/index.js';
import { mulberry32 } from './mulberry32.js';

/** The pipeline that loads demo data; its rows are labelled with it (`source`) and only it replaces or deletes them. */
export const DEMO_PIPELINE_ID = 'demo_usage_daily';

/**
 * One demo model: the id as the provider reports it (a dated snapshot, as real usage
 * reports), the tiers it is used at, a typical day's volume and how its input splits over
 * the token classes. Every id is priced by the shipped catalogue, so the demo's costs are
 * real list prices.
 */
export interface DemoModel {
  provider: 'openai' | 'anthropic';
  model: string;
  tiers: readonly ServiceTier[];
  requestsPerDay: number;
  inputTokensPerRequest: number;
  outputTokensPerRequest: number;
  /** Shares of input that are cache reads, 5-minute and 1-hour cache writes, audio and image; the rest is uncached text. */
  mix?: { cached?: number; write5m?: number; write1h?: number; audio?: number; image?: number };
  /** Share of output that is audio. */
  audioOut?: number;
}

export const DEMO_MODELS: readonly DemoModel[] = [
  { provider: 'openai', model: 'gpt-4o-2024-08-06', tiers: ['standard', 'batch'], requestsPerDay: 400, inputTokensPerRequest: 900, outputTokensPerRequest: 350, mix: { cached: 0.3 } },
  { provider: 'openai', model: 'gpt-4o-mini-2024-07-18', tiers: ['standard', 'batch'], requestsPerDay: 1500, inputTokensPerRequest: 700, outputTokensPerRequest: 250, mix: { cached: 0.2 } },
  { provider: 'openai', model: 'gpt-4.1-2025-04-14', tiers: ['standard', 'priority'], requestsPerDay: 300, inputTokensPerRequest: 1200, outputTokensPerRequest: 400, mix: { cached: 0.4 } },
  { provider: 'openai', model: 'o4-mini-2025-04-16', tiers: ['standard', 'flex'], requestsPerDay: 250, inputTokensPerRequest: 800, outputTokensPerRequest: 1500, mix: { cached: 0.1 } },
  { provider: 'openai', model: 'gpt-5-2025-08-07', tiers: ['standard', 'batch', 'priority'], requestsPerDay: 200, inputTokensPerRequest: 1500, outputTokensPerRequest: 900, mix: { cached: 0.5 } },
  { provider: 'openai', model: 'text-embedding-3-small', tiers: ['standard'], requestsPerDay: 3000, inputTokensPerRequest: 400, outputTokensPerRequest: 0 },
  { provider: 'openai', model: 'gpt-4o-audio-preview-2024-12-17', tiers: ['standard'], requestsPerDay: 60, inputTokensPerRequest: 600, outputTokensPerRequest: 500, mix: { audio: 0.7 }, audioOut: 0.8 },
  { provider: 'openai', model: 'gpt-image-1', tiers: ['standard'], requestsPerDay: 40, inputTokensPerRequest: 1200, outputTokensPerRequest: 4000, mix: { image: 0.8 } },
  { provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', tiers: ['standard', 'batch'], requestsPerDay: 600, inputTokensPerRequest: 4000, outputTokensPerRequest: 500, mix: { cached: 0.7, write5m: 0.05, write1h: 0.02 } },
  { provider: 'anthropic', model: 'claude-haiku-4-5-20251001', tiers: ['standard', 'batch'], requestsPerDay: 1500, inputTokensPerRequest: 1500, outputTokensPerRequest: 250, mix: { cached: 0.5, write5m: 0.05 } },
  { provider: 'anthropic', model: 'claude-opus-4-1-20250805', tiers: ['standard'], requestsPerDay: 80, inputTokensPerRequest: 3000, outputTokensPerRequest: 800, mix: { cached: 0.4, write1h: 0.05 } },
];

/** Projects (OpenAI) and workspaces (Anthropic; null is the default workspace) the demo org spreads its usage over. */
export const DEMO_PROJECTS: Readonly<Record<DemoModel['provider'], readonly (string | null)[]>> = {
  openai: ['proj_demo_app', 'proj_demo_research', 'proj_demo_internal'],
  anthropic: ['wrkspc_demo_app', 'wrkspc_demo_research', null],
};

/** API keys per project. */
const KEYS_PER_PROJECT = 3;

/** A 32-bit seed from text. */
function seedOf(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

/** Input tokens split over the classes by `mix`, the rest uncached text; output split into text and audio. */
function classes(input: number, output: number, m: DemoModel): TokenCounts {
  const share = (s: number | undefined): number => Math.floor(input * (s ?? 0));
  const cached = share(m.mix?.cached);
  const write5m = share(m.mix?.write5m);
  const write1h = share(m.mix?.write1h);
  const audio = share(m.mix?.audio);
  const image = share(m.mix?.image);
  const outAudio = Math.floor(output * (m.audioOut ?? 0));
  return tokenCounts({
    input_uncached: input - cached - write5m - write1h - audio - image,
    input_cached: cached,
    cache_write_5m: write5m,
    cache_write_1h: write1h,
    input_audio: audio,
    input_image: image,
    output: output - outAudio,
    output_audio: outAudio,
  });
}

/**
 * The demo usage of one org on one UTC day, computed without any I/O, at the grain real
 * providers report: one row per (model, service tier, project, API key) that had usage —
 * a few hundred a day, across both providers, every token class and every tier (about one
 * group in ten is idle; weekends are quieter). Each row's numbers come from a PRNG seeded
 * by the row's own grain alone, so the same org and day give the same rows whenever they
 * are generated — the demo seed (`dev/seedDemo.ts`) and the `demo_usage_daily` pipeline
 * agree row for row — and two orgs get different numbers.
 *
 * @throws InvalidArgumentError when the slug or the date is not valid
 */
export function demoUsageForDay({ orgSlug, date }: { orgSlug: string; date: string }): UsageRow[] {
  if (!ORG_SLUG_PATTERN.test(orgSlug)) {
    throw new InvalidArgumentError('Invalid org slug', [{ path: 'org_slug', message: `not a valid org slug: ${JSON.stringify(orgSlug)}` }]);
  }
  const startMs = Date.parse(`${date}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(startMs) || new Date(startMs).toISOString().slice(0, 10) !== date) {
    throw new InvalidArgumentError('Invalid date', [{ path: 'date', message: 'must be a calendar date as YYYY-MM-DD' }]);
  }
  const orgScale = 0.5 + mulberry32(seedOf(`scale|${orgSlug}`))() * 2;
  const weekday = new Date(startMs).getUTCDay();
  const dayFactor = weekday === 0 || weekday === 6 ? 0.4 : 1;
  const rows: UsageRow[] = [];
  for (const m of DEMO_MODELS) {
    const groups = DEMO_PROJECTS[m.provider].length * m.tiers.length * KEYS_PER_PROJECT;
    for (const tier of m.tiers) {
      for (const project of DEMO_PROJECTS[m.provider]) {
        for (let k = 1; k <= KEYS_PER_PROJECT; k += 1) {
          const apiKey = `key_demo_${project ?? 'default'}_${k}`;
          const random = mulberry32(seedOf(`${orgSlug}|${date}|${m.provider}|${m.model}|${tier}|${project ?? ''}|${apiKey}`));
          if (random() < 0.1) continue;
          const requests = Math.max(1, Math.round(((m.requestsPerDay * orgScale * dayFactor) / groups) * (0.5 + random())));
          const input = Math.round(requests * m.inputTokensPerRequest * (0.7 + 0.6 * random()));
          const output = Math.round(requests * m.outputTokensPerRequest * (0.7 + 0.6 * random()));
          rows.push({
            usage_date: date,
            provider: m.provider,
            model: m.model,
            service_tier: tier,
            project_id: project,
            api_key_id: apiKey,
            // Anthropic's usage report has no request count: the demo reports none either.
            requests: m.provider === 'anthropic' ? 0 : requests,
            tokens: classes(input, output, m),
          });
        }
      }
    }
  }
  return rows;
}

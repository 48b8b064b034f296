import * as z from 'zod';
import { ORG_SLUG_PATTERN } from '../../shared/analytics/index.js';
import { storableText, timestamp } from '../../shared/http/index.js';

export const PLANS = ['free', 'pro', 'enterprise'] as const;

export const onboardBody = z.strictObject({
  org_slug: z.string().regex(ORG_SLUG_PATTERN, { error: 'must match ^[a-z][a-z0-9_]{2,39}$' }),
  // Storable text: a NUL (which PostgreSQL refuses) or a lone surrogate is a 400, not a 500.
  name: storableText({ max: 200 }),
  plan: z.enum(PLANS).default('free'),
  admin_email: z.email().max(254),
});
export type OnboardBody = z.infer<typeof onboardBody>;

export const keyIdParams = z.strictObject({ id: z.uuid({ error: 'must be a UUID' }) });

/** A new API key: the only answer that ever carries the key itself. */
export const newApiKey = z.object({
  id: z.uuid(),
  key: z.string().describe('The key (`cak_…`): shown this once, stored only as a hash'),
  created_at: timestamp,
});

/** `POST /v1/orgs`: the org as created, and its first API key. */
export const onboarded = z.object({
  org: z.object({
    org_slug: z.string(),
    name: z.string(),
    plan: z.enum(PLANS),
    status: z.literal('active'),
    admin_email: z.string(),
    created_at: timestamp,
  }),
  api_key: newApiKey,
});

/** `GET /v1/orgs/me`: the org and its plan's limits. */
export const orgProfile = z.object({
  org_slug: z.string(),
  name: z.string(),
  plan: z.enum(PLANS),
  status: z.string().describe('`active` once onboarding finished'),
  created_at: timestamp,
  limits: z.object({
    daily_pipeline_runs: z.int().describe('Pipeline runs a day (UTC)'),
    concurrent_pipelines: z.int().describe('Runs queued or running at once'),
  }),
});

/** `GET /v1/orgs/me/api-keys`: never the key or its hash. */
export const apiKeyList = z.object({
  items: z.array(
    z.object({
      id: z.uuid(),
      prefix: z.string().describe('The first characters of the key, to tell keys apart'),
      created_at: timestamp,
      last_used_at: timestamp.nullable(),
      revoked_at: timestamp.nullable(),
    }),
  ),
});

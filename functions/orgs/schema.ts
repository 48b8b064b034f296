import { z } from 'zod';
import { ORG_SLUG_PATTERN } from '../../shared/analytics/index.js';
import { storableText } from '../../shared/http/index.js';

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

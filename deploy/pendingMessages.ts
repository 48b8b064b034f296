import { z } from 'zod';

/**
 * Messages API.md ("budgets and alerts") specifies whose code is not in this tree yet (the
 * `budgets` and `budget-alerts` functions are being written alongside). Described from the
 * spec so integrators see them now; once those functions exist, their own schemas replace
 * these (and the topic's consumer is found in the manifest like every other).
 */
const day = z.iso.date().describe('YYYY-MM-DD, UTC');

/** `usage-updated`: published after a pipeline run changed an org's data; budgets are evaluated on it. */
export const usageUpdatedMessage = z.object({
  org_slug: z.string().regex(/^[a-z][a-z0-9_]{2,39}$/),
  dates: z.array(day).min(1).describe('The usage days whose data changed'),
  run_id: z.uuid().optional().describe('The pipeline run that changed them, when one did'),
});

/** The body of an alert delivery: `POST webhook_url`. Receivers de-duplicate by `id` (at-least-once delivery). */
export const alertWebhookPayload = z.object({
  id: z.string().describe('The alert’s id: the same on every redelivery'),
  type: z.enum(['budget.threshold_crossed', 'budget.forecast_exceeded']),
  org_slug: z.string(),
  budget: z.object({
    id: z.string(),
    name: z.string(),
    amount_usd: z.number(),
    period: z.enum(['month', 'quarter', 'year']),
  }),
  period_start: day,
  threshold_pct: z.int().describe('The threshold crossed (`budget.threshold_crossed`)'),
  spent_usd: z.number().describe('Period-to-date spend in scope'),
  forecast_usd: z.number().describe('Forecast spend to the period’s end'),
  occurred_at: z.iso.datetime(),
});

/** The headers of an alert delivery. */
export const alertWebhookHeaders = z.object({
  'CloudAct-Signature': z
    .string()
    .regex(/^t=\d+,v1=[0-9a-f]{64}$/)
    .describe('`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`; the org’s signing secret is shown once by `POST /v1/alerts/signing-secret`, which also rotates it'),
});

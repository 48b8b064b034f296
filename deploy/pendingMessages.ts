import { z } from 'zod';

/**
 * The alert webhook as API.md ("budgets and alerts") specifies it. The delivery code
 * (`functions/budget-alert-delivery`, `shared/webhooks`) builds the payload without a zod
 * schema of its own, so it is described here from the spec; when it gets one, that schema
 * should replace these. (`SIGNATURE_HEADER` in `shared/webhooks` is the header's name.)
 */
const day = z.iso.date().describe('YYYY-MM-DD, UTC');

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

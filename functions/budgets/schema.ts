import * as z from 'zod';
import { BUDGET_PERIODS } from '../../shared/budgets/index.js';
import { calendarDay, cursorParam, exactDecimal, limitParam, pageSchema, storableText, timestamp } from '../../shared/http/index.js';
import { MAX_WEBHOOK_URL_LENGTH } from '../../shared/webhooks/index.js';

/** Decimals an amount may have (`numeric(20,6)`). */
const AMOUNT_SCALE = 6;
/** A trillion dollars: far above any real budget, far below `numeric(20,6)`'s limit. */
export const MAX_AMOUNT_USD = 1_000_000_000_000;

/**
 * `amount_usd` > 0, exact: a JSON number read through its shortest text, or a decimal
 * string; at most 6 decimals; no exponent form. Kept as the text sent.
 */
const amount = exactDecimal({
  scale: AMOUNT_SCALE,
  max: MAX_AMOUNT_USD,
  min: 'positive',
  shape: (text) => (/^\d{1,13}(?:\.\d+)?$/.test(text) ? undefined : 'must be a positive decimal such as "500" or "99.95"'),
});

/** A provider, model or vendor key as `/v1/costs` shows it. */
const key = (max: number): z.ZodString => z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:@/ -]*$/, { error: 'must be a provider, model or vendor name' }).max(max);

/** What spend the budget counts: every field given must match (API.md); `{}` is all spend. */
export const scopeSchema = z.strictObject({
  category: z.enum(['llm', 'saas'], { error: 'must be llm or saas' }).optional(),
  provider: key(40).optional(),
  model: key(100).optional(),
  vendor: storableText({ max: 200 }).optional(),
});

/** 1–10 distinct integer percentages 1…1000, kept ascending. */
const thresholds = z
  .array(z.number().int({ error: 'must be an integer' }).min(1, { error: 'must be at least 1' }).max(1000, { error: 'must be at most 1000' }), { error: 'must be a list of percentages' })
  .min(1, { error: 'must have at least 1 threshold' })
  .max(10, { error: 'must have at most 10 thresholds' })
  .refine((list) => new Set(list).size === list.length, { error: 'must not repeat a threshold' })
  .transform((list) => [...list].sort((a, b) => a - b));

/** Checked for form here; where it resolves is checked by the route (it needs the network). */
const webhookUrl = z.string({ error: 'must be a URL' }).min(1, { error: 'must be a URL' }).max(MAX_WEBHOOK_URL_LENGTH, { error: `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters` });

const fields = {
  name: storableText({ max: 200 }),
  amount_usd: amount,
  period: z.enum(BUDGET_PERIODS, { error: 'must be month, quarter or year' }),
  scope: scopeSchema,
  thresholds_pct: thresholds,
  forecast: z.boolean({ error: 'must be true or false' }),
  webhook_url: webhookUrl,
};

export const createBody = z.strictObject({
  ...fields,
  scope: fields.scope.default({}),
  thresholds_pct: fields.thresholds_pct.default([50, 80, 100]),
  forecast: fields.forecast.default(true),
});
export type CreateBody = z.infer<typeof createBody>;

export const patchBody = z
  .strictObject({
    name: fields.name.optional(),
    amount_usd: fields.amount_usd.optional(),
    period: fields.period.optional(),
    scope: fields.scope.optional(),
    thresholds_pct: fields.thresholds_pct.optional(),
    forecast: fields.forecast.optional(),
    webhook_url: fields.webhook_url.optional(),
  })
  .refine((p) => Object.keys(p).length > 0, { error: 'must change at least one field' });
export type PatchBody = z.infer<typeof patchBody>;

export const idParams = z.strictObject({ id: z.uuid({ error: 'must be a budget id (UUID)' }) });

export const listQuery = z.strictObject({ limit: limitParam, cursor: cursorParam });

export const ALERT_STATUSES = ['pending', 'delivered', 'failing', 'dead_lettered'] as const;

export const alertsQuery = z.strictObject({
  budget_id: z.uuid({ error: 'must be a budget id (UUID)' }).optional(),
  status: z.enum(ALERT_STATUSES).optional(),
  limit: limitParam,
  cursor: cursorParam,
});

/** A budget as the API answers it. */
export const budgetResponse = z.object({
  id: z.uuid(),
  name: z.string(),
  amount_usd: z.number(),
  period: z.enum(BUDGET_PERIODS).describe('A UTC calendar month, quarter or year'),
  scope: z
    .object({ category: z.enum(['llm', 'saas']).optional(), provider: z.string().optional(), model: z.string().optional(), vendor: z.string().optional() })
    .describe('What spend the budget watches; every field given must match; empty is all spend'),
  thresholds_pct: z.array(z.int()),
  forecast: z.boolean(),
  webhook_url: z.string(),
  created_at: timestamp,
  updated_at: timestamp,
});

/** `GET /v1/budgets`. */
export const budgetPage = pageSchema(budgetResponse);

/** `GET /v1/budgets/{id}/status`: the current period's spend against the budget. */
export const budgetStatusResponse = z.object({
  period_start: calendarDay,
  period_end: calendarDay,
  spent_usd: z.number().describe('Period-to-date spend in scope'),
  forecast_usd: z.number().describe('Spent + the trailing 7-day daily average × the days left'),
  pct: z.number().describe('spent / amount × 100, half-even to 2 places'),
  crossed_pct: z.array(z.int()).describe('The thresholds reached, ascending'),
  next_threshold_pct: z.int().nullable(),
});

/** An alert with its delivery state. */
export const alertResponse = z.object({
  id: z.uuid(),
  budget_id: z.uuid(),
  type: z.enum(['budget.threshold_crossed', 'budget.forecast_exceeded']),
  period_start: calendarDay,
  threshold_pct: z.int(),
  spent_usd: z.number(),
  forecast_usd: z.number(),
  status: z.enum(['pending', 'delivered', 'failing', 'dead_lettered']),
  attempts: z.int(),
  last_error: z.string().nullable(),
  last_attempt_at: timestamp.nullable(),
  delivered_at: timestamp.nullable(),
  created_at: timestamp,
  deliveries: z.array(
    z.object({
      attempt: z.int(),
      attempted_at: timestamp,
      status_code: z.int().nullable().describe('The receiver’s status; null when no answer came'),
      error: z.string().nullable(),
      duration_ms: z.number(),
    }),
  ),
});

/** `GET /v1/alerts`: newest first. */
export const alertPage = pageSchema(alertResponse);

/** `POST /v1/alerts/signing-secret`: the new secret, shown this once. */
export const signingSecretResponse = z.object({
  secret: z.string().describe('The HMAC-SHA256 key of `CloudAct-Signature`; shown this once'),
  created_at: timestamp,
});

import * as z from 'zod';
import { TOKEN_CLASSES, type TokenClass } from '../../shared/usage/index.js';
import { EXPORT_FORMATS } from './focus.js';

/** The longest range one request may ask for, counting both ends (`from` and `to` included). */
export const MAX_SPAN_DAYS = 366;

/** What `GET /v1/costs` can group by; each has one fixed SQL column (`costsSql.ts`). */
export const GROUP_BY = ['day', 'category', 'provider', 'model', 'service_tier', 'project', 'vendor', 'source'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

/** The kinds of spend: `llm` (priced usage) and `saas` (subscription accruals); `all` is both. */
export const CATEGORIES = ['all', 'llm', 'saas'] as const;
export type Category = (typeof CATEGORIES)[number];

const DATE_SHAPE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/**
 * Days since 1970-01-01 of a `YYYY-MM-DD` calendar date, or undefined when the text is not
 * one (`2024-02-30`, `2024-1-01`, year 0000). Checked by hand: `Date.parse` rolls
 * `2024-02-30` over to March and maps years below 100 to the 1900s.
 */
export function dayNumber(text: string): number | undefined {
  const match = DATE_SHAPE.exec(text);
  if (match === null) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1 || month < 1 || month > 12 || day < 1) return undefined;
  const last = month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] as number);
  if (day > last) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return Math.round(date.getTime() / MS_PER_DAY);
}

const dateParam = z
  .string({ error: (issue) => (issue.input === undefined ? 'is required (a date as YYYY-MM-DD)' : 'must be one date as YYYY-MM-DD') })
  .regex(DATE_SHAPE, { error: 'must be a date as YYYY-MM-DD' })
  .refine((text) => dayNumber(text) !== undefined, { error: 'must be a real calendar date' });

/**
 * `GET /v1/costs` query: `from` and `to` are UTC dates, both included; `from` ≤ `to`; the
 * range holds at most {@link MAX_SPAN_DAYS} days counting both ends (so 2024-01-01 →
 * 2024-12-31 is 366 days and allowed, 2023-01-01 → 2024-01-02 is 367 and refused).
 * `group_by` defaults to `day`, `category` to `all`.
 */
export const costsQuery = z
  .strictObject({
    from: dateParam,
    to: dateParam,
    group_by: z.enum(GROUP_BY, { error: `must be one of ${GROUP_BY.join(', ')}` }).default('day'),
    category: z.enum(CATEGORIES, { error: `must be one of ${CATEGORIES.join(', ')}` }).default('all'),
  })
  .superRefine(checkSpan);

export type CostsQuery = z.infer<typeof costsQuery>;

/** One validator of a range for both routes: `from` ≤ `to`, at most {@link MAX_SPAN_DAYS} days counting both ends. */
function checkSpan(query: { from: string; to: string }, ctx: z.RefinementCtx): void {
  const from = dayNumber(query.from);
  const to = dayNumber(query.to);
  if (from === undefined || to === undefined) return;
  if (from > to) {
    ctx.addIssue({ code: 'custom', path: ['from'], message: 'must not be after to' });
  } else if (to - from + 1 > MAX_SPAN_DAYS) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: `must be at most ${MAX_SPAN_DAYS} days from from, counting both ends` });
  }
}

/** `GET /v1/costs/export` query: the same range rules as `/v1/costs`; `format` defaults to `csv`. */
export const costsExportQuery = z
  .strictObject({
    from: dateParam,
    to: dateParam,
    format: z.enum(EXPORT_FORMATS, { error: `must be one of ${EXPORT_FORMATS.join(', ')}` }).default('csv'),
  })
  .superRefine(checkSpan);

export type CostsExportQuery = z.infer<typeof costsExportQuery>;

/** One key of the answer of `GET /v1/costs`. */
export const costRow = z.object({
  key: z.string().describe('The value grouped by (a day, a provider, a vendor …)'),
  cost_usd: z.number().describe('Our price of the usage plus SaaS accruals, USD, rounded half-even to 6 places'),
  billed_cost_usd: z.number().nullable().describe('What the provider billed for this key; null where no billed line exists for it'),
  requests: z.int(),
  input_tokens: z.int().describe('The sum of the input classes'),
  output_tokens: z.int().describe('The sum of the output classes (text and audio output)'),
  tokens: z
    .object(Object.fromEntries(TOKEN_CLASSES.map((c) => [c, z.int()])) as Record<TokenClass, z.ZodInt>)
    .describe('Tokens by class'),
  unpriced_tokens: z.int().describe('Tokens no price covered (counted at cost 0)'),
});

/** The totals of the range, each an exact sum rounded once. */
export const costTotals = z.object({
  cost_usd: z.number(),
  llm_cost_usd: z.number(),
  saas_cost_usd: z.number(),
  demo_cost_usd: z.number().describe('The part of `cost_usd` loaded by the demo pipeline: demo spend is always labelled'),
  billed_cost_usd: z.number().nullable().describe('The provider’s bill over the range; null when no billed line exists in it at all'),
  unpriced_tokens: z.int(),
});

/** The answer of `GET /v1/costs`. */
export const costsView = z.object({
  from: z.string(),
  to: z.string(),
  group_by: z.enum(GROUP_BY),
  currency: z.literal('USD'),
  rows: z.array(costRow),
  total_cost_usd: z.number().describe('= `totals.cost_usd`, kept for callers written before `totals`'),
  totals: costTotals,
});

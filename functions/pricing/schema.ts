import * as z from 'zod';
import { calendarDay, cursorParam, exactDecimal, limitParam, pageSchema, timestamp } from '../../shared/http/index.js';
import { PRICE_CLASSES, PRICE_SCALE } from '../../shared/pricing/index.js';
import { providerName } from '../../shared/providers/index.js';
import { SERVICE_TIERS } from '../../shared/usage/index.js';

/** API.md: `model` is `^[A-Za-z0-9._:-]{1,100}$` (percent-decoded from the path). */
export const MODEL_PATTERN = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * Highest price per 1M tokens we accept. The column (`numeric(24,10)`) holds up to 14
 * integer digits; a cap far below that (and far above any real price) turns an absurd value
 * into a `400` naming the field instead of a numeric-overflow error from the database.
 */
export const MAX_PRICE_PER_MTOK_USD = 1_000_000_000;

/** An entry that has always been in force (API.md: the default `effective_from`). */
export const ALWAYS = '1970-01-01';

const PLAIN_DECIMAL = /^-?\d+(?:\.\d+)?$/;
const EXPONENT_FORM = /^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$/;

const provider = providerName;
const model = z.string().regex(MODEL_PATTERN, { error: 'must match ^[A-Za-z0-9._:-]{1,100}$' });
const serviceTier = z.enum(SERVICE_TIERS, { error: `must be one of ${SERVICE_TIERS.join(', ')}` });
const matchMode = z.enum(['exact', 'snapshots'], { error: 'must be exact or snapshots' });

/**
 * A real calendar day `YYYY-MM-DD` (zod's ISO date knows month lengths and leap years),
 * within years PostgreSQL's `date` and people agree on.
 */
const day = z.iso
  .date({ error: 'must be a real date YYYY-MM-DD' })
  .refine((d) => d >= '1900-01-01' && d <= '9999-12-31', { error: 'must be between 1900-01-01 and 9999-12-31' });

/**
 * A price per 1M tokens, kept exact: a decimal string (`"0.0000000001"`), or a JSON number
 * read through its shortest text `String(n)` (`1234.5` → `"1234.5"`) — never through a
 * float sum or a rounding. Plain decimals only: an exponent form (`1e-7`, which is also what
 * `String(0.0000001)` gives) is refused rather than expanded, so a caller sending tiny
 * prices as numbers learns to send them as strings. At most {@link PRICE_SCALE} decimals,
 * 0 … {@link MAX_PRICE_PER_MTOK_USD}. The value is the text as sent; PostgreSQL and the
 * reads normalise it (`"2.50"` is shown as `"2.5"`).
 */
const price = exactDecimal({
  scale: PRICE_SCALE,
  max: MAX_PRICE_PER_MTOK_USD,
  shape: (text) => {
    if (EXPONENT_FORM.test(text)) return 'must be a plain decimal, not an exponent form; send small prices as strings such as "0.0000001"';
    if (!PLAIN_DECIMAL.test(text)) return 'must be a decimal such as "2.5"';
    return text.startsWith('-') ? 'must be at least 0' : undefined;
  },
});

/** `prices_per_mtok_usd`: `input` and `output` required, the other classes optional, nothing else. */
export const pricesPerMtok = z.strictObject({
  input: price,
  output: price,
  cached_input: price.optional(),
  cache_write_5m: price.optional(),
  cache_write_1h: price.optional(),
  input_audio: price.optional(),
  output_audio: price.optional(),
  input_image: price.optional(),
});

/** `GET /v1/pricing`: optional provider and model filters, `source` (default all), `limit` 1…500 (default 100), opaque `cursor`. */
export const listQuery = z.strictObject({
  provider: provider.optional(),
  model: model.optional(),
  source: z.enum(['org', 'catalogue', 'all'], { error: 'must be org, catalogue or all' }).default('all'),
  limit: limitParam,
  cursor: cursorParam,
});
export type ListQuery = z.infer<typeof listQuery>;

/** `GET /v1/pricing/resolve`: what a usage row is priced by; `date` is required. */
export const resolveQuery = z.strictObject({
  provider,
  model,
  service_tier: serviceTier.default('standard'),
  date: day,
});
export type ResolveQuery = z.infer<typeof resolveQuery>;

/** `/v1/pricing/{provider}/{model}`, both percent-decoded by the router. */
export const modelParams = z.strictObject({ provider, model });
export type ModelParams = z.infer<typeof modelParams>;

/** `PUT /v1/pricing/{provider}/{model}`: the entry for (tier, effective_from); `match` is an attribute of it. */
export const putBody = z.strictObject({
  match: matchMode.default('snapshots'),
  service_tier: serviceTier.default('standard'),
  effective_from: day.default(ALWAYS),
  prices_per_mtok_usd: pricesPerMtok,
});
export type PutBody = z.infer<typeof putBody>;

/** `DELETE /v1/pricing/{provider}/{model}`: which of the model's entries (defaults as `PUT`). */
export const deleteQuery = z.strictObject({
  service_tier: serviceTier.default('standard'),
  effective_from: day.default(ALWAYS),
});
export type DeleteQuery = z.infer<typeof deleteQuery>;

/** A price as the API answers it: an exact decimal string without trailing zeros. */
const priceOut = z.string().describe('USD per 1M tokens, an exact decimal string (`"2.5"`)');

/** An entry as the API shows it (`apiEntry`): only the fields its source has. */
export const entryView = z.object({
  provider: z.string(),
  model: z.string(),
  match: matchMode.describe('`snapshots` also prices the model’s dated snapshots (`-YYYY-MM-DD`, `-YYYYMMDD`)'),
  service_tier: serviceTier,
  effective_from: calendarDay,
  prices_per_mtok_usd: z.object({
    input: priceOut,
    output: priceOut,
    cached_input: priceOut.optional(),
    cache_write_5m: priceOut.optional(),
    cache_write_1h: priceOut.optional(),
    input_audio: priceOut.optional(),
    output_audio: priceOut.optional(),
    input_image: priceOut.optional(),
  }),
  source: z.enum(['org', 'catalogue']),
  source_url: z.string().optional().describe('The page a catalogue entry was read from'),
  read_on: calendarDay.optional().describe('The day a catalogue entry was read'),
  updated_at: timestamp.optional().describe('When an org entry was last written'),
});

/** `GET /v1/pricing`: a page of entries, org entries first. */
export const entryPage = pageSchema(entryView);

/** `GET /v1/pricing/resolve`: the entry in force and the effective price of each class. */
export const resolvedView = z.object({
  entry: entryView,
  multiplier: z.string().nullable().describe('The catalogue’s tier multiplier applied to the standard entry, when the tier has no entry of its own'),
  per_class: z.object(Object.fromEntries(PRICE_CLASSES.map((c) => [c, z.string().nullable()])) as Record<(typeof PRICE_CLASSES)[number], z.ZodNullable<z.ZodString>>)
    .describe('USD per 1M tokens for each class; null where the entry has no price (those tokens are unpriced)'),
});

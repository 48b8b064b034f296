import { z } from 'zod';
import { cursorParam, limitParam } from '../../shared/http/index.js';
import { providerName } from '../../shared/providers/index.js';

/** API.md: `model` is `^[A-Za-z0-9._:-]{1,100}$` (percent-decoded from the path). */
export const MODEL_PATTERN = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * Highest price per 1k tokens we accept. The column (`numeric(20,10)`) holds up to 10
 * integer digits; a cap far below that turns an absurd value into a `400` naming the
 * field instead of a numeric-overflow error from the database.
 */
export const MAX_PRICE_PER_1K_USD = 1_000_000;

const provider = providerName;
const model = z.string().regex(MODEL_PATTERN, { error: 'must match ^[A-Za-z0-9._:-]{1,100}$' });

/** A price: a finite JSON number (zod refuses `Infinity`, which `1e309` parses to), 0…cap. */
const price = z
  .number({ error: 'must be a number' })
  .min(0, { error: 'must be at least 0' })
  .max(MAX_PRICE_PER_1K_USD, { error: `must be at most ${MAX_PRICE_PER_1K_USD}` });

/** `GET /v1/pricing`: optional provider filter, `limit` 1…500 (default 100), opaque `cursor`. */
export const listQuery = z.strictObject({
  provider: provider.optional(),
  limit: limitParam,
  cursor: cursorParam,
});
export type ListQuery = z.infer<typeof listQuery>;

/** `/v1/pricing/{provider}/{model}`, both percent-decoded by the router. */
export const modelParams = z.strictObject({ provider, model });
export type ModelParams = z.infer<typeof modelParams>;

/** `PUT /v1/pricing/{provider}/{model}`: both prices, nothing else. */
export const putBody = z.strictObject({
  input_per_1k_usd: price,
  output_per_1k_usd: price,
});
export type PutBody = z.infer<typeof putBody>;

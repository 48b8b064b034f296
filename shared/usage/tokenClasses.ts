/**
 * The token classes CloudAct keeps apart, each priced at its own rate. They are disjoint:
 * a token is in exactly one class, so the classes add up to everything the model read or
 * wrote.
 *
 * - `input_uncached` — text input read at the full input rate;
 * - `input_cached` — input read from a prompt cache (OpenAI cached input, Anthropic cache reads);
 * - `cache_write_5m` / `cache_write_1h` — input written to a cache (Anthropic's 5-minute and
 *   1-hour TTLs; OpenAI's cache writes count as `cache_write_5m`);
 * - `output` — text (and image) output;
 * - `input_audio` / `output_audio` — uncached audio in and out;
 * - `input_image` — uncached image input.
 */
export const TOKEN_CLASSES = ['input_uncached', 'input_cached', 'cache_write_5m', 'cache_write_1h', 'output', 'input_audio', 'output_audio', 'input_image'] as const;

export type TokenClass = (typeof TOKEN_CLASSES)[number];

/** Tokens per class; every class present (0 when none). */
export type TokenCounts = Record<TokenClass, number>;

/** The classes that are input: `input_tokens` in the API is their sum. */
export const INPUT_CLASSES: readonly TokenClass[] = ['input_uncached', 'input_cached', 'cache_write_5m', 'cache_write_1h', 'input_audio', 'input_image'];

/** The classes that are output: `output_tokens` in the API is their sum. */
export const OUTPUT_CLASSES: readonly TokenClass[] = ['output', 'output_audio'];

/** Counts with every class at 0, then `counts` over them. */
export function tokenCounts(counts: Partial<TokenCounts> = {}): TokenCounts {
  return {
    input_uncached: counts.input_uncached ?? 0,
    input_cached: counts.input_cached ?? 0,
    cache_write_5m: counts.cache_write_5m ?? 0,
    cache_write_1h: counts.cache_write_1h ?? 0,
    output: counts.output ?? 0,
    input_audio: counts.input_audio ?? 0,
    output_audio: counts.output_audio ?? 0,
    input_image: counts.input_image ?? 0,
  };
}

/** The sum of `classes` in `counts`. */
export function sumClasses(counts: TokenCounts, classes: readonly TokenClass[]): number {
  let total = 0;
  for (const c of classes) total += counts[c];
  return total;
}

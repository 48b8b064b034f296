/**
 * Maps tokens back to the query text, so a script can be cut into
 * statements (and a CTAS into its query) without re-tokenizing by hand.
 */
import type { Token } from './tokenizer.js';

/** Character offsets of each line start of `text`. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return starts;
}

/** Offset of a token in the text whose {@link lineStarts} are `starts` (tokens carry 1-based line/column). */
export function tokenOffset(starts: number[], tok: Token): number {
  return (starts[tok.line - 1] ?? 0) + tok.col - 1;
}

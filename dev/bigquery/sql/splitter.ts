/**
 * The one statement splitter: a script's tokens cut at top-level `;`. The
 * script is tokenized once; each statement's tokens go to the parser (queries
 * and DML) or the DDL parser as they are, so positions in errors are the
 * script's.
 */
import type { Token } from './tokenizer.js';

/** Splits the tokens at top-level `;` (empty statements dropped; the `eof` token is not kept). */
export function splitStatements(tokens: Token[]): Token[][] {
  const out: Token[][] = [];
  let cur: Token[] = [];
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === 'eof') break;
    if (t.kind === 'op' && (t.text === '(' || t.text === '[')) depth++;
    if (t.kind === 'op' && (t.text === ')' || t.text === ']')) depth--;
    if (t.kind === 'op' && t.text === ';' && depth === 0) {
      if (cur.length > 0) out.push(cur);
      cur = [];
      continue;
    }
    cur.push(t);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** `tokens` with the `eof` token the parser expects, placed just after the last one. */
export function withEnd(tokens: Token[]): Token[] {
  const last = tokens[tokens.length - 1];
  const end: Token = { kind: 'eof', text: '', line: last?.line ?? 1, col: (last?.col ?? 0) + (last?.text.length ?? 0) };
  return [...tokens, end];
}

/**
 * Operand boundaries in a flat node sequence.
 *
 * The translator walks one bracket level token by token and emits DuckDB SQL
 * without an expression tree. A few GoogleSQL operators cannot be passed
 * through as text because DuckDB gives another answer (`x / 0` is NULL there,
 * an error in BigQuery; `a[OFFSET(9)]` is NULL there, an error in BigQuery):
 * those need their operands as separate expressions. These helpers find them
 * by GoogleSQL precedence, where `*`, `/` and `||` bind tighter than every
 * other binary operator and only unary `+ - ~` and postfix `[...]` / `.field`
 * bind tighter still.
 */
import { isGroup, isOp, isWord, wordOf } from './tree.js';
import type { SqlNode } from './tree.js';

/** Keywords that are operands themselves (a `-` after them is binary). */
const VALUE_KEYWORDS = new Set(['NULL', 'TRUE', 'FALSE', 'END']);

/** Words that form a typed literal with the string after them (`DATE '2024-01-01'`). */
const TYPED_LITERAL_WORDS = new Set(['DATE', 'DATETIME', 'TIMESTAMP', 'TIME', 'NUMERIC', 'DECIMAL', 'BIGNUMERIC', 'BIGDECIMAL', 'JSON']);

/** Operators at the multiplicative level: the left operand of `/` extends over them. */
const MULTIPLICATIVE = ['*', '/', '||'];

function isOpAny(n: SqlNode | undefined, ops: string[]): boolean {
  return ops.some((o) => isOp(n, o));
}

/**
 * True when the `+`/`-`/`~` at `idx` is a unary operator: nothing or an
 * operator or a clause keyword comes before it.
 */
export function isUnaryAt(nodes: SqlNode[], idx: number, keywords: ReadonlySet<string>): boolean {
  const n = nodes[idx];
  if (!isOpAny(n, ['-', '+', '~'])) return false;
  const prev = nodes[idx - 1];
  if (!prev) return true;
  if (prev.t === 'group') return false;
  if (prev.tok.kind === 'op') return true;
  const w = wordOf(prev);
  return w !== undefined && keywords.has(w) && !VALUE_KEYWORDS.has(w);
}

/** Index of the `CASE` that the `END` at `endIdx` closes, or -1. */
function matchingCase(nodes: SqlNode[], endIdx: number): number {
  let depth = 0;
  for (let k = endIdx; k >= 0; k--) {
    if (isWord(nodes[k], 'END')) depth++;
    else if (isWord(nodes[k], 'CASE')) {
      depth--;
      if (depth === 0) return k;
    }
  }
  return -1;
}

/** Index of the `END` that closes the `CASE` at `caseIdx`, or -1. */
function matchingEnd(nodes: SqlNode[], caseIdx: number): number {
  let depth = 0;
  for (let k = caseIdx; k < nodes.length; k++) {
    if (isWord(nodes[k], 'CASE')) depth++;
    else if (isWord(nodes[k], 'END')) {
      depth--;
      if (depth === 0) return k;
    }
  }
  return -1;
}

/** True when the `[...]` group at `idx` subscripts the term before it (rather than being an array literal). */
export function isSubscriptAt(nodes: SqlNode[], idx: number, keywords: ReadonlySet<string>): boolean {
  const prev = nodes[idx - 1];
  if (!isGroup(nodes[idx], '[') || !prev) return false;
  if (prev.t === 'group') return true;
  const k = prev.tok.kind;
  if (k === 'qident' || k === 'param' || k === 'posparam') return true;
  return k === 'ident' && (!keywords.has(prev.tok.text.toUpperCase()) || isWord(prev, 'END'));
}

/**
 * First index of the primary term (with its postfix subscripts and field
 * accesses) that ends at `end` (inclusive).
 */
export function termStart(nodes: SqlNode[], end: number, keywords: ReadonlySet<string>): number {
  const n = nodes[end];
  if (!n) return end;
  const prev = nodes[end - 1];
  if (n.t === 'group') {
    if (n.open === '[') return isSubscriptAt(nodes, end, keywords) ? termStart(nodes, end - 1, keywords) : end;
    // `f(...)`, `CAST(...)`, `EXISTS(...)`; `agg(...) OVER (...)`.
    if (isWord(prev, 'OVER')) return termStart(nodes, end - 2, keywords);
    if (prev && prev.t === 'tok' && (prev.tok.kind === 'ident' || prev.tok.kind === 'qident') && (!keywords.has(prev.tok.text.toUpperCase()) || isWord(prev, 'EXISTS'))) {
      return isOp(nodes[end - 2], '.') ? termStart(nodes, end - 3, keywords) : end - 1;
    }
    return end;
  }
  if (n.tok.kind === 'string' && prev && TYPED_LITERAL_WORDS.has(wordOf(prev) ?? '')) return end - 1;
  if (isWord(n, 'END')) {
    const c = matchingCase(nodes, end);
    return c >= 0 ? c : end;
  }
  if ((n.tok.kind === 'ident' || n.tok.kind === 'qident') && isWord(prev, 'OVER')) return termStart(nodes, end - 2, keywords);
  if ((n.tok.kind === 'ident' || n.tok.kind === 'qident') && isOp(prev, '.')) return termStart(nodes, end - 2, keywords);
  return end;
}

/**
 * First index of the left operand of a multiplicative operator at `opIdx`:
 * extends back over unary prefixes and other `*`, `/`, `||` (left-associative).
 */
export function leftOperandStart(nodes: SqlNode[], opIdx: number, keywords: ReadonlySet<string>): number {
  let j = opIdx - 1;
  for (;;) {
    let s = termStart(nodes, j, keywords);
    while (s - 1 >= 0 && isUnaryAt(nodes, s - 1, keywords)) s--;
    if (s - 1 >= 1 && isOpAny(nodes[s - 1], MULTIPLICATIVE)) {
      j = s - 2;
      continue;
    }
    return s;
  }
}

/** Index just after the primary term (with postfix) that starts at `start`. */
export function termEnd(nodes: SqlNode[], start: number): number {
  let k = start;
  while (isOpAny(nodes[k], ['-', '+', '~'])) k++;
  const n = nodes[k];
  if (!n) return k;
  if (isWord(n, 'CASE')) {
    const e = matchingEnd(nodes, k);
    k = e >= 0 ? e + 1 : k + 1;
  } else if (n.t === 'tok' && TYPED_LITERAL_WORDS.has(wordOf(n) ?? '') && nodes[k + 1]?.t === 'tok' && (nodes[k + 1] as { tok: { kind: string } }).tok.kind === 'string') {
    k += 2;
  } else if (n.t === 'tok' && (n.tok.kind === 'ident' || n.tok.kind === 'qident') && isGroup(nodes[k + 1])) {
    k += 2;
    if (isWord(nodes[k], 'OVER')) k += 2;
  } else {
    k++;
  }
  // Postfix: `.field` and `[subscript]`.
  for (;;) {
    if (isOp(nodes[k], '.') && nodes[k + 1]?.t === 'tok') {
      k += 2;
      continue;
    }
    if (isGroup(nodes[k], '[')) {
      k++;
      continue;
    }
    return k;
  }
}

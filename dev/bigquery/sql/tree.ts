/**
 * Bracket tree over tokens: `(...)`, `[...]` become group nodes so the
 * translator can reason about "an identifier followed by a parenthesised
 * group" (a function call) or "a subquery" without re-scanning text.
 */
import { invalidQuery } from '../errors.js';
import type { Token } from './tokenizer.js';

/** A single token. */
export interface TokNode {
  t: 'tok';
  tok: Token;
}

/** A bracketed group; `items` excludes the brackets. */
export interface GroupNode {
  t: 'group';
  open: '(' | '[';
  items: SqlNode[];
  tok: Token;
}

export type SqlNode = TokNode | GroupNode;

const CLOSE: Record<string, string> = { '(': ')', '[': ']' };

/** Builds the bracket tree; throws `invalidQuery` on unbalanced brackets. */
export function buildTree(tokens: Token[]): SqlNode[] {
  let i = 0;
  const parse = (close: string | null, openTok: Token | null): SqlNode[] => {
    const out: SqlNode[] = [];
    while (i < tokens.length) {
      const tok = tokens[i] as Token;
      if (tok.kind === 'eof') {
        if (close !== null && openTok) throw invalidQuery(`Syntax error: Unclosed "${openTok.text}" at [${openTok.line}:${openTok.col}]`);
        return out;
      }
      i++;
      if (tok.kind === 'op' && (tok.text === '(' || tok.text === '[')) {
        const items = parse(CLOSE[tok.text] as string, tok);
        out.push({ t: 'group', open: tok.text, items, tok });
        continue;
      }
      if (tok.kind === 'op' && (tok.text === ')' || tok.text === ']')) {
        if (tok.text !== close) throw invalidQuery(`Syntax error: Unexpected "${tok.text}" at [${tok.line}:${tok.col}]`);
        return out;
      }
      out.push({ t: 'tok', tok });
    }
    return out;
  };
  return parse(null, null);
}

/** True when `node` is an unquoted identifier/keyword equal (case-insensitively) to one of `words`. */
export function isWord(node: SqlNode | undefined, ...words: string[]): boolean {
  if (!node || node.t !== 'tok' || node.tok.kind !== 'ident') return false;
  const up = node.tok.text.toUpperCase();
  return words.length === 0 || words.includes(up);
}

/** True when `node` is the operator `op`. */
export function isOp(node: SqlNode | undefined, op: string): boolean {
  return !!node && node.t === 'tok' && node.tok.kind === 'op' && node.tok.text === op;
}

/** True when `node` is a group opened by `open`. */
export function isGroup(node: SqlNode | undefined, open: '(' | '[' = '('): node is GroupNode {
  return !!node && node.t === 'group' && node.open === open;
}

/** Upper-case text of an identifier node, or undefined. */
export function wordOf(node: SqlNode | undefined): string | undefined {
  return node && node.t === 'tok' && node.tok.kind === 'ident' ? node.tok.text.toUpperCase() : undefined;
}

/** Splits a node list on top-level commas. */
export function splitCommas(items: SqlNode[]): SqlNode[][] {
  const out: SqlNode[][] = [[]];
  for (const n of items) {
    if (isOp(n, ',')) out.push([]);
    else (out[out.length - 1] as SqlNode[]).push(n);
  }
  if (out.length === 1 && (out[0] as SqlNode[]).length === 0) return [];
  return out;
}

/** Source position of a node, for error messages. */
export function posOf(node: SqlNode | undefined): string {
  if (!node) return '';
  return ` at [${node.tok.line}:${node.tok.col}]`;
}

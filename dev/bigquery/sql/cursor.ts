/**
 * A position in a token list, with the look-ahead and `expect` helpers the
 * recursive-descent parser is written in, and its syntax errors.
 */
import { invalidQuery } from '../errors.js';
import type { Name } from './ast.js';
import type { Token } from './tokenizer.js';

/** ` at [line:col]` for error messages. */
export function at(tok: Token | undefined): string {
  return tok && tok.kind !== 'eof' ? ` at [${tok.line}:${tok.col}]` : '';
}

export class Cursor {
  i = 0;
  /** Upper-case text of each unquoted identifier (undefined for other tokens), computed once. */
  readonly words: (string | undefined)[];

  constructor(readonly tokens: Token[]) {
    this.words = tokens.map((t) => (t.kind === 'ident' ? t.text.toUpperCase() : undefined));
  }

  peek(offset = 0): Token {
    return (this.tokens[this.i + offset] ?? this.tokens[this.tokens.length - 1]) as Token;
  }

  next(): Token {
    const tok = this.peek();
    if (tok.kind !== 'eof') this.i++;
    return tok;
  }

  atEnd(): boolean {
    return this.peek().kind === 'eof';
  }

  /** Upper-case word of the unquoted identifier at `offset`, or undefined. */
  word(offset = 0): string | undefined {
    return this.words[this.i + offset];
  }

  isWord(word: string, offset = 0): boolean {
    return this.word(offset) === word;
  }

  isOp(op: string, offset = 0): boolean {
    const tok = this.peek(offset);
    return tok.kind === 'op' && tok.text === op;
  }

  acceptWord(word: string): boolean {
    if (!this.isWord(word)) return false;
    this.i++;
    return true;
  }

  acceptOp(op: string): boolean {
    if (!this.isOp(op)) return false;
    this.i++;
    return true;
  }

  expectWord(word: string): Token {
    if (!this.isWord(word)) throw this.unexpected(`keyword ${word}`);
    return this.next();
  }

  expectOp(op: string): Token {
    if (!this.isOp(op)) throw this.unexpected(`"${op}"`);
    return this.next();
  }

  /**
   * Takes one `>` that closes a type's `<`; a `>>` token (two closings,
   * `ARRAY<STRUCT<a INT64>>`) is split, leaving its second half.
   */
  expectCloseAngle(): void {
    const tok = this.peek();
    if (tok.kind === 'op' && tok.text === '>>') {
      this.tokens[this.i] = { ...tok, text: '>', col: tok.col + 1 };
      return;
    }
    this.expectOp('>');
  }

  /** An identifier (unquoted or in backticks); a backtick name keeps its dots. */
  name(): Name {
    const tok = this.peek();
    if (tok.kind === 'ident') {
      this.i++;
      return { text: tok.text, quoted: false };
    }
    if (tok.kind === 'qident') {
      this.i++;
      return { text: tok.value as string, quoted: true };
    }
    throw this.unexpected('an identifier');
  }

  isName(offset = 0): boolean {
    const kind = this.peek(offset).kind;
    return kind === 'ident' || kind === 'qident';
  }

  /** `Syntax error: Expected X but got Y at [l:c]`, BigQuery's wording. */
  unexpected(expected: string): Error {
    const tok = this.peek();
    const got = tok.kind === 'eof' ? 'end of input' : tok.kind === 'ident' ? `"${tok.text}"` : `"${tok.text}"`;
    return invalidQuery(`Syntax error: Expected ${expected} but got ${got}${at(tok)}`);
  }
}

/**
 * A GoogleSQL tokenizer.
 *
 * The translator works on tokens rather than on the raw string so that string
 * literals, backtick identifiers, comments and parameters can never be
 * mistaken for SQL keywords (e.g. `'MERGE'` inside a string is not a MERGE
 * statement, and `@name` inside a comment is not a parameter).
 */
import { invalidQuery } from '../errors.js';

/** Token categories. Whitespace and comments are dropped except the leading `#legacySQL` marker. */
export type TokenKind =
  | 'ident' // unquoted identifier or keyword
  | 'qident' // `backtick` identifier; `value` is the unescaped name (may contain dots)
  | 'string' // string literal; `value` is the decoded text
  | 'bytes' // bytes literal; `bytes` holds the decoded bytes
  | 'number' // numeric literal; `text` is normalised (hex converted to decimal)
  | 'param' // @name; `value` is the name
  | 'posparam' // ?
  | 'op' // operator or punctuation
  | 'eof';

/** One token with its 1-based source position (for error messages). */
export interface Token {
  kind: TokenKind;
  text: string;
  value?: string;
  bytes?: Uint8Array;
  isFloat?: boolean;
  line: number;
  col: number;
}

/** Result of tokenizing: the tokens plus the leading dialect marker, if any. */
export interface TokenizeResult {
  tokens: Token[];
  /** `standardSQL` / `legacySQL` when the query starts with such a `#` comment. */
  dialectMarker?: string;
}

const MULTI_OPS = ['->>', '<=>', '<<', '>>', '<=', '>=', '<>', '!=', '||', '=>', '->', '::', '==', '&&'];
const SINGLE_OPS = '+-*/=<>()[]{},.;~&|^%!:$';

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}
function isIdentPart(c: string): boolean {
  return isIdentStart(c) || (c >= '0' && c <= '9');
}
function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** Splits GoogleSQL text into tokens; throws `invalidQuery` on unterminated literals. */
export function tokenize(sql: string): TokenizeResult {
  const tokens: Token[] = [];
  let dialectMarker: string | undefined;
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const n = sql.length;

  const pos = (at: number): { line: number; col: number } => ({ line, col: at - lineStart + 1 });
  const advanceNewlines = (from: number, to: number): void => {
    for (let k = from; k < to; k++) {
      if (sql[k] === '\n') {
        line++;
        lineStart = k + 1;
      }
    }
  };
  const fail = (msg: string, at: number): never => {
    const p = pos(at);
    throw invalidQuery(`Syntax error: ${msg} at [${p.line}:${p.col}]`, `query`);
  };

  while (i < n) {
    const c = sql[i] as string;
    // Whitespace.
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\f' || c === '\v') {
      advanceNewlines(i, i + 1);
      i++;
      continue;
    }
    // Comments: -- and # to end of line, /* */ block.
    if ((c === '-' && sql[i + 1] === '-') || c === '#') {
      let j = i;
      while (j < n && sql[j] !== '\n') j++;
      if (c === '#' && tokens.length === 0 && dialectMarker === undefined) {
        const marker = sql.slice(i + 1, j).trim();
        if (/^(standardSQL|legacySQL)$/i.test(marker)) dialectMarker = marker;
      }
      i = j;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) fail('Unclosed comment', i);
      advanceNewlines(i, end + 2);
      i = end + 2;
      continue;
    }
    const start = pos(i);
    // String / bytes literals with optional r/b prefixes.
    const prefixMatch = /^(rb|br|r|b)?('''|"""|'|")/i.exec(sql.slice(i, i + 5));
    if (prefixMatch && (prefixMatch[1] === undefined || !isIdentPart(sql[i - 1] ?? ' '))) {
      const prefix = (prefixMatch[1] ?? '').toLowerCase();
      const quote = prefixMatch[2] as string;
      const raw = prefix.includes('r');
      const isBytes = prefix.includes('b');
      let j = i + prefixMatch[0].length;
      let text = '';
      let closed = false;
      while (j < n) {
        if (sql.startsWith(quote, j)) {
          closed = true;
          j += quote.length;
          break;
        }
        const ch = sql[j] as string;
        if (quote.length === 1 && ch === '\n') fail('Unclosed string literal', i);
        if (ch === '\\') {
          if (raw) {
            text += ch + (sql[j + 1] ?? '');
            j += 2;
            continue;
          }
          const [decoded, len] = decodeEscape(sql, j, () => fail('Illegal escape sequence', j));
          text += decoded;
          j += len;
          continue;
        }
        text += ch;
        j++;
      }
      if (!closed) fail('Unclosed string literal', i);
      advanceNewlines(i, j);
      if (isBytes) {
        tokens.push({ kind: 'bytes', text: sql.slice(i, j), bytes: latin1OrUtf8Bytes(text), ...start });
      } else {
        tokens.push({ kind: 'string', text: sql.slice(i, j), value: text, ...start });
      }
      i = j;
      continue;
    }
    // Backtick identifiers.
    if (c === '`') {
      let j = i + 1;
      let name = '';
      while (j < n && sql[j] !== '`') {
        if (sql[j] === '\\') {
          const [decoded, len] = decodeEscape(sql, j, () => fail('Illegal escape sequence', j));
          name += decoded;
          j += len;
          continue;
        }
        name += sql[j];
        j++;
      }
      if (j >= n) fail('Unclosed identifier literal', i);
      if (name === '') fail('Invalid empty identifier', i);
      tokens.push({ kind: 'qident', text: sql.slice(i, j + 1), value: name, ...start });
      i = j + 1;
      continue;
    }
    // Numbers (a leading '.' only when it cannot be a path separator).
    const prev = tokens[tokens.length - 1];
    const dotStartsNumber =
      c === '.' &&
      isDigit(sql[i + 1]) &&
      !(prev && (prev.kind === 'ident' || prev.kind === 'qident' || prev.text === ')' || prev.text === ']'));
    if (isDigit(c) || dotStartsNumber) {
      if (c === '0' && (sql[i + 1] === 'x' || sql[i + 1] === 'X')) {
        let j = i + 2;
        while (j < n && /[0-9a-fA-F]/.test(sql[j] as string)) j++;
        const hex = sql.slice(i + 2, j);
        if (hex === '') fail('Invalid hex literal', i);
        tokens.push({ kind: 'number', text: BigInt(`0x${hex}`).toString(), ...start });
        i = j;
        continue;
      }
      const m = /^(\d*\.?\d*)([eE][+-]?\d+)?/.exec(sql.slice(i)) as RegExpExecArray;
      const text = m[0];
      const isFloat = text.includes('.') || m[2] !== undefined;
      tokens.push({ kind: 'number', text, isFloat, ...start });
      i += text.length;
      if (isIdentStart(sql[i] ?? ' ')) fail(`Unexpected identifier after number "${text}"`, i);
      continue;
    }
    // Identifiers / keywords.
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(sql[j] as string)) j++;
      tokens.push({ kind: 'ident', text: sql.slice(i, j), ...start });
      i = j;
      continue;
    }
    // Parameters.
    if (c === '@') {
      if (sql[i + 1] === '@') {
        let j = i + 2;
        while (j < n && isIdentPart(sql[j] as string)) j++;
        tokens.push({ kind: 'param', text: sql.slice(i, j), value: sql.slice(i, j), ...start });
        i = j;
        continue;
      }
      let j = i + 1;
      if (sql[j] === '`') {
        const end = sql.indexOf('`', j + 1);
        if (end < 0) fail('Unclosed identifier literal', j);
        tokens.push({ kind: 'param', text: sql.slice(i, end + 1), value: sql.slice(j + 1, end), ...start });
        i = end + 1;
        continue;
      }
      while (j < n && isIdentPart(sql[j] as string)) j++;
      if (j === i + 1) fail('Unexpected "@"', i);
      tokens.push({ kind: 'param', text: sql.slice(i, j), value: sql.slice(i + 1, j), ...start });
      i = j;
      continue;
    }
    if (c === '?') {
      tokens.push({ kind: 'posparam', text: '?', ...start });
      i++;
      continue;
    }
    const multi = MULTI_OPS.find((op) => sql.startsWith(op, i));
    if (multi) {
      tokens.push({ kind: 'op', text: multi, ...start });
      i += multi.length;
      continue;
    }
    if (SINGLE_OPS.includes(c)) {
      tokens.push({ kind: 'op', text: c, ...start });
      i++;
      continue;
    }
    fail(`Illegal input character "${c}"`, i);
  }
  tokens.push({ kind: 'eof', text: '', ...pos(n) });
  const result: TokenizeResult = { tokens };
  if (dialectMarker !== undefined) result.dialectMarker = dialectMarker;
  return result;
}

/** Decodes one backslash escape starting at `at`; returns [text, consumed length]. */
function decodeEscape(sql: string, at: number, fail: () => never): [string, number] {
  const e = sql[at + 1];
  switch (e) {
    case 'a':
      return ['\x07', 2];
    case 'b':
      return ['\b', 2];
    case 'f':
      return ['\f', 2];
    case 'n':
      return ['\n', 2];
    case 'r':
      return ['\r', 2];
    case 't':
      return ['\t', 2];
    case 'v':
      return ['\v', 2];
    case '\\':
    case '?':
    case '"':
    case "'":
    case '`':
      return [e, 2];
    case 'x':
    case 'X': {
      const hex = sql.slice(at + 2, at + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) fail();
      return [String.fromCharCode(parseInt(hex, 16)), 4];
    }
    case 'u': {
      const hex = sql.slice(at + 2, at + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail();
      return [String.fromCodePoint(parseInt(hex, 16)), 6];
    }
    case 'U': {
      const hex = sql.slice(at + 2, at + 10);
      if (!/^[0-9a-fA-F]{8}$/.test(hex)) fail();
      return [String.fromCodePoint(parseInt(hex, 16)), 10];
    }
    default: {
      const oct = sql.slice(at + 1, at + 4);
      if (/^[0-7]{3}$/.test(oct)) return [String.fromCharCode(parseInt(oct, 8)), 4];
      return fail();
    }
  }
}

/**
 * Bytes literal text to bytes: `\xHH` escapes were decoded to code points
 * < 256, while other characters are UTF-8 encoded as BigQuery does.
 */
function latin1OrUtf8Bytes(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x100 && ch.length === 1) out.push(cp);
    else out.push(...Buffer.from(ch, 'utf8'));
  }
  return Uint8Array.from(out);
}

/**
 * GoogleSQL expressions by precedence climbing.
 *
 * Levels, loosest first (GoogleSQL's operator table): OR; AND; NOT; the
 * comparisons (`= != <> < <= > >=`, `[NOT] LIKE`, `[NOT] BETWEEN`,
 * `[NOT] IN`, `IS [NOT]`); `|`; `&`; `<< >>`; `+ -`; `* / ||`; unary
 * `+ - ~`; then the postfix `.field` and `[subscript]`. Queries inside
 * expressions (`(SELECT …)`, `EXISTS`, `IN (SELECT …)`) are parsed by the
 * statement parser this class is the base of.
 */
import { invalidQuery, unsupported } from '../errors.js';
import type { SqlTypeNode } from '../types.js';
import type { BinaryOp, CallExpr, DatePart, Expr, FrameBound, Name, OrderItem, Query, WindowSpec } from './ast.js';
import { at, Cursor } from './cursor.js';
import { RESERVED_KEYWORDS as RESERVED } from './reserved.js';
import type { Token } from './tokenizer.js';

/** Binding power of each binary operator (higher binds tighter). */
const BINARY: Record<string, number> = {
  OR: 1,
  AND: 2,
  '=': 4, '!=': 4, '<>': 4, '<': 4, '<=': 4, '>': 4, '>=': 4,
  '|': 5,
  '&': 7,
  '<<': 8, '>>': 8,
  '+': 9, '-': 9,
  '*': 10, '/': 10, '||': 10,
};
const NOT_LEVEL = 3;
const COMPARISON_LEVEL = 4;

/** Words that form a typed literal with the string after them (`DATE '2024-01-01'`). */
const TYPED_LITERALS = new Set(['DATE', 'DATETIME', 'TIMESTAMP', 'TIME', 'NUMERIC', 'DECIMAL', 'BIGNUMERIC', 'BIGDECIMAL', 'JSON']);

/** Functions that may be written without parentheses. */
const BARE_FUNCTIONS = new Set(['CURRENT_DATE', 'CURRENT_TIMESTAMP', 'CURRENT_DATETIME', 'CURRENT_TIME']);

export const INTERVAL_UNITS = new Set(['MICROSECOND', 'MILLISECOND', 'SECOND', 'MINUTE', 'HOUR', 'DAY', 'WEEK', 'MONTH', 'QUARTER', 'YEAR']);

const WEEKDAYS = new Set(['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY']);

/** Expression parsing; the subclass supplies queries. */
export abstract class ExpressionParser {
  protected readonly c: Cursor;

  constructor(tokens: Token[]) {
    this.c = new Cursor(tokens);
  }

  /** A query expression (`SELECT …`, `WITH …`, `(…)`), for subqueries. */
  abstract query(): Query;

  /** True when the tokens at `offset` start a query rather than an expression. */
  protected isQueryStart(offset = 0): boolean {
    const w = this.c.word(offset);
    if (w === 'SELECT' || w === 'WITH') return true;
    return this.c.isOp('(', offset) && this.isQueryStart(offset + 1);
  }

  expr(minLevel = 1): Expr {
    let left: Expr;
    if (minLevel <= NOT_LEVEL && this.c.isWord('NOT')) {
      const tok = this.c.next();
      left = { k: 'not', arg: this.expr(NOT_LEVEL), tok };
    } else {
      left = this.unary();
    }
    for (;;) {
      const tok = this.c.peek();
      const word = this.c.word();
      if (minLevel <= COMPARISON_LEVEL && (word === 'IS' || word === 'LIKE' || word === 'BETWEEN' || word === 'IN' || (word === 'NOT' && ['LIKE', 'BETWEEN', 'IN'].includes(this.c.word(1) ?? '')))) {
        left = this.comparisonWord(left);
        continue;
      }
      const op = tok.kind === 'op' ? tok.text : word === 'AND' || word === 'OR' ? word : undefined;
      const level = op === undefined ? undefined : BINARY[op];
      if (level === undefined || level < minLevel) return left;
      this.c.next();
      const right = this.expr(level + 1);
      left = { k: 'binary', op: op as BinaryOp, left, right, tok };
    }
  }

  /** `IS [NOT] NULL|TRUE|FALSE`, `[NOT] LIKE`, `[NOT] BETWEEN … AND …`, `[NOT] IN (…)|UNNEST(…)`. */
  private comparisonWord(arg: Expr): Expr {
    const tok = this.c.peek();
    if (this.c.acceptWord('IS')) {
      const not = this.c.acceptWord('NOT');
      const value = this.c.word();
      if (value !== 'NULL' && value !== 'TRUE' && value !== 'FALSE') throw this.c.unexpected('NULL, TRUE or FALSE');
      this.c.next();
      return { k: 'is', arg, not, value, tok };
    }
    const not = this.c.acceptWord('NOT');
    if (this.c.acceptWord('LIKE')) return { k: 'like', arg, not, pattern: this.expr(COMPARISON_LEVEL + 1), tok };
    if (this.c.acceptWord('BETWEEN')) {
      const low = this.expr(COMPARISON_LEVEL + 1);
      this.c.expectWord('AND');
      return { k: 'between', arg, not, low, high: this.expr(COMPARISON_LEVEL + 1), tok };
    }
    this.c.expectWord('IN');
    if (this.c.acceptWord('UNNEST')) {
      this.c.expectOp('(');
      const unnest = this.expr();
      this.c.expectOp(')');
      return { k: 'in', arg, not, unnest, tok };
    }
    this.c.expectOp('(');
    if (this.isQueryStart()) {
      const query = this.query();
      this.c.expectOp(')');
      return { k: 'in', arg, not, query, tok };
    }
    const list = this.exprList(')');
    return { k: 'in', arg, not, list, tok };
  }

  /** Comma-separated expressions up to (and taking) `close`. */
  protected exprList(close: string): Expr[] {
    const out: Expr[] = [];
    if (this.c.acceptOp(close)) return out;
    do out.push(this.expr());
    while (this.c.acceptOp(','));
    this.c.expectOp(close);
    return out;
  }

  private unary(): Expr {
    const tok = this.c.peek();
    if (tok.kind === 'op' && (tok.text === '-' || tok.text === '+' || tok.text === '~')) {
      this.c.next();
      return { k: 'unary', op: tok.text, arg: this.unary(), tok };
    }
    return this.postfix(this.primary());
  }

  private postfix(e: Expr): Expr {
    let out = e;
    for (;;) {
      const tok = this.c.peek();
      if (this.c.isOp('.') && this.c.isName(1)) {
        this.c.next();
        const name = this.c.name();
        if (out.k === 'path') out = { ...out, parts: [...out.parts, ...splitName(name)] };
        else out = { k: 'field', arg: out, name, tok };
        continue;
      }
      if (this.c.isOp('[')) {
        this.c.next();
        out = this.subscript(out, tok);
        continue;
      }
      return out;
    }
  }

  /** `[OFFSET(i)]`, `[ORDINAL(i)]`, `[SAFE_OFFSET(i)]`, `[SAFE_ORDINAL(i)]`, `[i]`; the `[` is taken. */
  private subscript(arg: Expr, tok: Token): Expr {
    const w = this.c.word();
    if ((w === 'OFFSET' || w === 'ORDINAL' || w === 'SAFE_OFFSET' || w === 'SAFE_ORDINAL') && this.c.isOp('(', 1)) {
      this.c.i += 2;
      const index = this.expr();
      this.c.expectOp(')');
      this.c.expectOp(']');
      return { k: 'subscript', arg, kind: w, index, tok };
    }
    if (this.c.peek().kind === 'string' && this.c.isOp(']', 1)) throw unsupported('JSON/STRUCT subscript with a string key');
    const index = this.expr();
    this.c.expectOp(']');
    return { k: 'subscript', arg, kind: 'OFFSET', index, tok };
  }

  private primary(): Expr {
    const tok = this.c.peek();
    switch (tok.kind) {
      case 'string':
        this.c.next();
        return { k: 'string', value: tok.value as string, tok };
      case 'bytes':
        this.c.next();
        return { k: 'bytes', bytes: tok.bytes as Uint8Array, tok };
      case 'number':
        this.c.next();
        return { k: 'number', text: tok.text, isFloat: tok.isFloat === true, tok };
      case 'param':
        this.c.next();
        if ((tok.value as string).startsWith('@@')) throw unsupported(`system variable ${tok.value as string}`);
        return { k: 'param', name: tok.value as string, tok };
      case 'posparam':
        this.c.next();
        return { k: 'posparam', tok };
      case 'qident':
        return this.pathOrCall();
      case 'op':
        if (tok.text === '(') {
          this.c.next();
          if (this.isQueryStart()) {
            const query = this.query();
            this.c.expectOp(')');
            return { k: 'subquery', query, tok };
          }
          const inner = this.expr();
          this.c.expectOp(')');
          return { k: 'paren', expr: inner, tok };
        }
        if (tok.text === '[') {
          this.c.next();
          return { k: 'array', items: this.exprList(']'), tok };
        }
        throw this.c.unexpected('an expression');
      case 'ident':
        return this.word(tok);
      default:
        throw this.c.unexpected('an expression');
    }
  }

  /** An expression that starts with an unquoted word. */
  private word(tok: Token): Expr {
    const w = tok.text.toUpperCase();
    const next = this.c.peek(1);
    switch (w) {
      case 'NULL':
      case 'TRUE':
      case 'FALSE':
        this.c.next();
        return { k: 'keyword', word: w, tok };
      case 'CASE':
        return this.caseExpr(tok);
      case 'CAST':
      case 'SAFE_CAST':
        if (this.c.isOp('(', 1)) return this.cast(tok, w === 'SAFE_CAST');
        break;
      case 'EXTRACT':
        return this.extract(tok);
      case 'INTERVAL':
        return this.interval(tok);
      case 'ARRAY':
        return this.arrayExpr(tok);
      case 'STRUCT':
        return this.structExpr(tok);
      case 'EXISTS': {
        this.c.next();
        this.c.expectOp('(');
        const query = this.query();
        this.c.expectOp(')');
        return { k: 'exists', query, tok };
      }
      case 'UNNEST':
        throw unsupported('UNNEST outside FROM or IN UNNEST(...)');
      default:
        break;
    }
    if (TYPED_LITERALS.has(w) && next.kind === 'string') {
      this.c.i += 2;
      return { k: 'typed', type: w, value: next.value as string, tok };
    }
    if (RESERVED.has(w) && !((w === 'IF' || w === 'LEFT' || w === 'RIGHT') && this.c.isOp('(', 1))) {
      throw invalidQuery(`Syntax error: Unexpected keyword ${w}${at(tok)}`);
    }
    return this.pathOrCall();
  }

  /** A column path, or a function call when `(` follows the name. */
  private pathOrCall(): Expr {
    const tok = this.c.peek();
    const parts = splitName(this.c.name());
    while (this.c.isOp('.') && this.c.isName(1)) {
      this.c.next();
      parts.push(...splitName(this.c.name()));
    }
    if (this.c.isOp('(')) {
      const name = parts.map((p) => p.text).join('.').toUpperCase();
      if (parts.length > 1) {
        if (name.startsWith('SAFE.')) throw unsupported(`SAFE. function prefix (${name})`);
        throw unsupported(`function ${name}`);
      }
      return this.call(name, tok);
    }
    if (parts.some((p) => p.text.toUpperCase() === 'INFORMATION_SCHEMA')) throw unsupported('INFORMATION_SCHEMA');
    if (parts.length === 1 && !(parts[0] as Name).quoted && BARE_FUNCTIONS.has((parts[0] as Name).text.toUpperCase())) {
      return { k: 'call', name: (parts[0] as Name).text.toUpperCase(), args: [], bare: true, tok };
    }
    return { k: 'path', parts, tok };
  }

  /** `name(…)` with the aggregate modifiers and `OVER`; the name is taken, `(` is next. */
  private call(name: string, tok: Token): CallExpr {
    this.c.expectOp('(');
    const call: CallExpr = { k: 'call', name, args: [], tok };
    if (this.c.acceptWord('DISTINCT')) call.distinct = true;
    if (this.c.isOp('*') && this.c.isOp(')', 1)) {
      this.c.next();
      call.star = true;
    } else if (!this.c.isOp(')')) {
      do call.args.push(this.expr());
      while (this.c.acceptOp(','));
    }
    if (this.c.isWord('IGNORE') || this.c.isWord('RESPECT')) {
      call.nulls = this.c.next().text.toUpperCase() as 'IGNORE' | 'RESPECT';
      this.c.expectWord('NULLS');
    }
    if (this.c.isWord('ORDER')) call.orderBy = this.orderBy();
    if (this.c.acceptWord('LIMIT')) call.limit = this.expr();
    this.c.expectOp(')');
    if (this.c.acceptWord('OVER')) call.over = this.c.isOp('(') ? this.windowSpec() : { name: this.c.name() };
    return call;
  }

  /** `ORDER BY item, …` (the ORDER is next). */
  protected orderBy(): OrderItem[] {
    this.c.expectWord('ORDER');
    this.c.expectWord('BY');
    const items: OrderItem[] = [];
    do {
      const item: OrderItem = { expr: this.expr() };
      if (this.c.acceptWord('DESC')) item.desc = true;
      else if (this.c.acceptWord('ASC')) item.asc = true;
      if (this.c.acceptWord('NULLS')) {
        const w = this.c.word();
        if (w !== 'FIRST' && w !== 'LAST') throw this.c.unexpected('FIRST or LAST');
        this.c.next();
        item.nulls = w;
      }
      items.push(item);
    } while (this.c.acceptOp(','));
    return items;
  }

  /** `( [name] [PARTITION BY …] [ORDER BY …] [ROWS|RANGE …] )`. */
  protected windowSpec(): WindowSpec {
    this.c.expectOp('(');
    const spec: WindowSpec = {};
    if (this.c.isName() && !['PARTITION', 'ORDER', 'ROWS', 'RANGE'].includes(this.c.word() ?? '') && !this.c.isOp(')')) spec.name = this.c.name();
    if (this.c.acceptWord('PARTITION')) {
      this.c.expectWord('BY');
      spec.partitionBy = [];
      do spec.partitionBy.push(this.expr());
      while (this.c.acceptOp(','));
    }
    if (this.c.isWord('ORDER')) spec.orderBy = this.orderBy();
    const unit = this.c.word();
    if (unit === 'ROWS' || unit === 'RANGE') {
      this.c.next();
      const frame: FrameBound[] & { unit?: 'ROWS' | 'RANGE' } = [];
      frame.unit = unit;
      const bound = (): void => {
        if (this.c.isWord('UNBOUNDED') || this.c.isWord('CURRENT')) {
          const first = this.c.next().text.toUpperCase();
          const second = this.c.word();
          if (first === 'CURRENT' ? second !== 'ROW' : second !== 'PRECEDING' && second !== 'FOLLOWING') throw this.c.unexpected('a window frame bound');
          this.c.next();
          frame.push({ words: `${first} ${second}` });
          return;
        }
        frame.push({ expr: this.expr(COMPARISON_LEVEL + 1) });
        const dir = this.c.word();
        if (dir !== 'PRECEDING' && dir !== 'FOLLOWING') throw this.c.unexpected('PRECEDING or FOLLOWING');
        this.c.next();
        frame.push({ words: dir });
      };
      if (this.c.acceptWord('BETWEEN')) {
        frame.push({ words: 'BETWEEN' });
        bound();
        this.c.expectWord('AND');
        frame.push({ words: 'AND' });
      }
      bound();
      spec.frame = frame;
    }
    this.c.expectOp(')');
    return spec;
  }

  private caseExpr(tok: Token): Expr {
    this.c.next();
    const e: Expr & { k: 'case' } = { k: 'case', whens: [], tok };
    if (!this.c.isWord('WHEN')) e.operand = this.expr();
    while (this.c.acceptWord('WHEN')) {
      const when = this.expr();
      this.c.expectWord('THEN');
      e.whens.push({ when, then: this.expr() });
    }
    if (e.whens.length === 0) throw this.c.unexpected('keyword WHEN');
    if (this.c.acceptWord('ELSE')) e.else = this.expr();
    this.c.expectWord('END');
    return e;
  }

  private cast(tok: Token, safe: boolean): Expr {
    this.c.i += 2;
    const arg = this.expr();
    this.c.expectWord('AS');
    const type = this.type();
    if (this.c.isWord('FORMAT')) throw unsupported('CAST ... FORMAT');
    if (!this.c.isOp(')')) throw invalidQuery(`Syntax error: Unexpected tokens after CAST type${at(this.c.peek())}`);
    this.c.next();
    return { k: 'cast', safe, arg, type, tok };
  }

  private extract(tok: Token): Expr {
    this.c.next();
    this.c.expectOp('(');
    const part = this.datePart('EXTRACT');
    this.c.expectWord('FROM');
    let arg = this.expr();
    if (this.c.isWord('AT') && this.c.isWord('TIME', 1) && this.c.isWord('ZONE', 2)) {
      const atTok = this.c.peek();
      this.c.i += 3;
      arg = { k: 'atTimeZone', arg, zone: this.expr(), tok: atTok };
    }
    this.c.expectOp(')');
    return { k: 'extract', part, arg, tok };
  }

  /** `DAY`, `WEEK(MONDAY)`, … */
  protected datePart(fn: string): DatePart {
    const name = this.c.word();
    if (!name) throw invalidQuery(`${fn} requires a date part such as DAY or MONTH`);
    this.c.next();
    if (name === 'WEEK' && this.c.acceptOp('(')) {
      const wd = this.c.word();
      if (!wd || !WEEKDAYS.has(wd)) throw invalidQuery(`Invalid WEEK day in ${fn}`);
      this.c.next();
      this.c.expectOp(')');
      return { name, weekday: wd };
    }
    return { name };
  }

  /** `INTERVAL value unit`; the value is an additive expression (`INTERVAL @n * 7 DAY`). */
  private interval(tok: Token): Expr {
    this.c.next();
    const value = this.expr(BINARY['+']);
    const unit = this.c.word();
    if (!unit || !INTERVAL_UNITS.has(unit)) throw unsupported(`INTERVAL without a supported unit${at(tok)}`);
    this.c.next();
    if (this.c.isWord('TO')) throw unsupported('INTERVAL ... TO ... ranges');
    return { k: 'interval', value, unit, tok };
  }

  private arrayExpr(tok: Token): Expr {
    this.c.next();
    if (this.c.isOp('<')) {
      this.c.i--;
      const type = this.type();
      if (!this.c.isOp('[')) throw invalidQuery(`Syntax error: Expected "[" after ARRAY<...>${at(this.c.peek())}`);
      this.c.next();
      return { k: 'array', type, items: this.exprList(']'), tok };
    }
    if (this.c.acceptOp('[')) return { k: 'array', items: this.exprList(']'), tok };
    if (this.c.isOp('(')) throw unsupported('ARRAY(subquery)');
    throw invalidQuery(`Syntax error: Unexpected ARRAY${at(tok)}`);
  }

  private structExpr(tok: Token): Expr {
    let type: SqlTypeNode | undefined;
    if (this.c.isOp('<', 1)) type = this.type();
    else this.c.next();
    if (!this.c.isOp('(')) throw invalidQuery(`Syntax error: Expected "(" after STRUCT${at(tok)}`);
    this.c.next();
    const fields: { value: Expr; name?: string }[] = [];
    if (!this.c.isOp(')')) {
      do {
        const value = this.expr();
        let name: string | undefined;
        if (this.c.acceptWord('AS')) name = this.c.name().text;
        else if (value.k === 'path') name = (value.parts[value.parts.length - 1] as Name).text;
        fields.push(name === undefined ? { value } : { value, name });
      } while (this.c.acceptOp(','));
    }
    this.c.expectOp(')');
    if (type?.fields && type.fields.length !== fields.length) {
      throw invalidQuery(`STRUCT type has ${type.fields.length} fields but ${fields.length} values were given`);
    }
    return type ? { k: 'struct', type, fields, tok } : { k: 'struct', fields, tok };
  }

  /** A GoogleSQL type: `INT64`, `NUMERIC(10, 2)`, `ARRAY<T>`, `STRUCT<a T, …>`. */
  protected type(): SqlTypeNode {
    const name = this.c.word();
    if (!name) throw invalidQuery(`Syntax error: Expected a type name${at(this.c.peek())}`);
    this.c.next();
    if (name === 'ARRAY') {
      if (!this.c.acceptOp('<')) throw invalidQuery('Syntax error: Expected "<" after ARRAY');
      const element = this.type();
      this.c.expectCloseAngle();
      return { name, element };
    }
    if (name === 'STRUCT') {
      if (!this.c.acceptOp('<')) throw invalidQuery('Syntax error: Expected "<" after STRUCT');
      const fields: { name: string | undefined; type: SqlTypeNode }[] = [];
      while (!this.c.isOp('>') && !this.c.isOp('>>')) {
        // "name TYPE" vs. a bare "TYPE": a field name is followed by another word.
        const fieldName = this.c.isName() && this.c.peek(1).kind === 'ident' ? this.c.name().text : undefined;
        fields.push({ name: fieldName, type: this.type() });
        if (!this.c.acceptOp(',') && !this.c.isOp('>') && !this.c.isOp('>>')) {
          throw invalidQuery(`Syntax error: Expected "," or ">" in STRUCT type${at(this.c.peek())}`);
        }
      }
      this.c.expectCloseAngle();
      return { name, fields };
    }
    const t: SqlTypeNode = { name };
    if (this.c.acceptOp('(')) {
      const params: number[] = [];
      do params.push(Number(this.c.next().text));
      while (this.c.acceptOp(','));
      this.c.expectOp(')');
      if (name === 'NUMERIC' || name === 'DECIMAL' || name === 'BIGNUMERIC' || name === 'BIGDECIMAL') t.params = params;
    }
    return t;
  }
}

/** A backtick name may hold a whole path (`` `ds.t` ``, `` `t.col` ``): one part per dot. */
export function splitName(name: Name): Name[] {
  if (!name.quoted || !name.text.includes('.')) return [name];
  return name.text.split('.').map((text) => ({ text, quoted: true }));
}

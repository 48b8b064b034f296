/**
 * The recursive-descent parser: one GoogleSQL statement (query, INSERT,
 * UPDATE, DELETE, MERGE) into the syntax tree of `ast.ts`. Expressions are
 * parsed by the base class (`parseExpression.ts`).
 *
 * What the endpoint does not model is refused here, naming the construct
 * (`Unsupported by the local BigQuery endpoint: …`); what is not GoogleSQL is
 * a syntax error.
 */
import { invalidQuery, unsupported } from '../errors.js';
import type { Assignment, Cte, Expr, FromItem, InsertSource, MergeClause, Name, Query, QueryBody, Select, SelectItem, Statement, TableItem } from './ast.js';
import { at } from './cursor.js';
import { ExpressionParser, splitName } from './parseExpression.js';
import { RESERVED_KEYWORDS as RESERVED } from './reserved.js';
import type { Token } from './tokenizer.js';

/** GoogleSQL reserved words (or statements) the endpoint does not support; named in the error. */
const REJECTED_KEYWORDS = new Map<string, string>(Object.entries({
  TABLESAMPLE: 'TABLESAMPLE',
  PIVOT: 'PIVOT',
  UNPIVOT: 'UNPIVOT',
  MATCH_RECOGNIZE: 'MATCH_RECOGNIZE',
  COLLATE: 'COLLATE',
  LATERAL: 'LATERAL',
  NATURAL: 'NATURAL JOIN',
  ASSERT_ROWS_MODIFIED: 'ASSERT_ROWS_MODIFIED',
  CONTAINS: 'CONTAINS',
  DEFINE: 'DEFINE',
  ENUM: 'ENUM',
  FETCH: 'FETCH',
  GROUPS: 'GROUPS window frames',
  HASH: 'HASH',
  LOOKUP: 'LOOKUP',
  NEW: 'NEW',
  PROTO: 'PROTO',
  TREAT: 'TREAT',
  WITHIN: 'WITHIN',
  EXCLUDE: 'EXCLUDE',
  ESCAPE: 'ESCAPE',
  TO: 'TO',
  OF: 'OF',
  NO: 'NO',
}));

/** Operators GoogleSQL lacks (or means differently) that DuckDB would accept. */
const REJECTED_OPS = new Map<string, string>(Object.entries({
  '::': 'operator ::',
  '->': 'operator ->',
  '->>': 'operator ->>',
  '==': 'operator ==',
  '&&': 'operator &&',
  '<=>': 'operator <=>',
  '%': 'operator % (use MOD)',
  '^': 'operator ^ (bitwise XOR)',
  '$': 'character $',
  '{': 'character {',
  '}': 'character }',
  '!': 'operator !',
  ':': 'character :',
  '=>': 'named arguments (=>)',
}));

/** Statements a query job runs, by first word. */
const STATEMENT_STARTS = new Set(['SELECT', 'WITH', 'INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/** Words that end a FROM item: never an implicit alias. */
const NOT_ALIASES = new Set([...RESERVED, 'VALUES']);

/**
 * Unbalanced brackets are syntax errors; then refuses what the endpoint never
 * runs, wherever it appears: operators that
 * mean something else in DuckDB, reserved words of unmodelled features, time
 * travel. Done on the tokens first so the message names the construct rather
 * than the syntax error it would cause further on.
 */
function rejectUnsupportedTokens(tokens: Token[], words: (string | undefined)[]): void {
  const open: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i] as Token;
    if (tok.kind === 'op') {
      const text = tok.text;
      if (text === ',' || text === '.') continue;
      if (text === '(' || text === '[') {
        const prev = tokens[i - 1];
        if (tok.text === '[' && prev?.kind === 'ident' && ['FROM', 'JOIN'].includes(prev.text.toUpperCase())) throw unsupported('legacy SQL table reference [project:dataset.table]');
        open.push(tok);
        continue;
      }
      if (tok.text === ')' || tok.text === ']') {
        const opener = open.pop();
        if (!opener || (opener.text === '(') !== (tok.text === ')')) throw invalidQuery(`Syntax error: Unexpected "${tok.text}"${at(tok)}`);
        continue;
      }
      const rejected = REJECTED_OPS.get(text);
      if (rejected) throw unsupported(rejected);
      continue;
    }
    const word = words[i];
    if (word === undefined) continue;
    const prev = tokens[i - 1];
    if (prev?.kind === 'op' && prev.text === '.') continue;
    if (word === 'FOR') {
      const next = tokens[i + 1];
      if (next?.kind === 'ident' && ['SYSTEM_TIME', 'SYSTEM'].includes(next.text.toUpperCase())) throw unsupported('FOR SYSTEM_TIME AS OF (time travel)');
      throw unsupported('FOR');
    }
    if (word === 'TO' && prev?.kind === 'ident' && /^(MICROSECOND|MILLISECOND|SECOND|MINUTE|HOUR|DAY|WEEK|MONTH|QUARTER|YEAR)$/i.test(prev.text)) {
      throw unsupported('INTERVAL ... TO ... ranges');
    }
    const rejected = REJECTED_KEYWORDS.get(word);
    if (rejected) throw unsupported(rejected);
  }
  const unclosed = open.pop();
  if (unclosed) throw invalidQuery(`Syntax error: Unclosed "${unclosed.text}"${at(unclosed)}`);
}

/**
 * Parses one statement (a trailing `;` is allowed).
 *
 * @throws BigQueryApiError `invalidQuery`: syntax errors and unsupported constructs.
 */
export function parseStatement(tokens: Token[]): Statement {
  const first = tokens[0];
  const word = first?.kind === 'ident' ? first.text.toUpperCase() : undefined;
  if (word !== undefined && !STATEMENT_STARTS.has(word)) throw unsupported(`statement ${word}`);
  const parser = new Parser(tokens);
  parser.rejectUnsupported();
  return parser.statement();
}

class Parser extends ExpressionParser {
  rejectUnsupported(): void {
    rejectUnsupportedTokens(this.c.tokens, this.c.words);
  }

  statement(): Statement {
    const tok = this.c.peek();
    if (tok.kind === 'eof') throw invalidQuery('Syntax error: Unexpected end of script at [1:1]');
    let stmt: Statement;
    switch (this.c.word()) {
      case 'INSERT':
        stmt = this.insert();
        break;
      case 'UPDATE':
        stmt = this.update();
        break;
      case 'DELETE':
        stmt = this.delete();
        break;
      case 'MERGE':
        stmt = this.merge();
        break;
      default:
        if (!this.isQueryStart()) throw unsupported(`statement ${tok.kind === 'op' ? tok.text : tok.text.toUpperCase()}`);
        stmt = { k: 'queryStatement', query: this.query() };
    }
    this.endOfStatement();
    return stmt;
  }

  private endOfStatement(): void {
    if (this.c.acceptOp(';')) {
      if (this.c.atEnd()) return;
      throw unsupported('multi-statement queries (scripting)');
    }
    if (this.c.atEnd()) return;
    if (this.c.tokens.slice(this.c.i).some((t) => t.kind === 'op' && t.text === ';')) throw unsupported('multi-statement queries (scripting)');
    throw invalidQuery(`Syntax error: Expected end of input but got "${this.c.peek().text}"${at(this.c.peek())}`);
  }

  // ------------------------------------------------------------------ queries

  query(): Query {
    const tok = this.c.peek();
    const q: Query = { k: 'query', body: undefined as unknown as QueryBody, tok };
    if (this.c.acceptWord('WITH')) {
      const recursive = this.c.acceptWord('RECURSIVE');
      const ctes: Cte[] = [];
      do {
        const name = this.c.name();
        this.c.expectWord('AS');
        this.c.expectOp('(');
        const query = this.query();
        this.c.expectOp(')');
        ctes.push({ name, query });
      } while (this.c.acceptOp(','));
      q.with = { recursive, ctes };
    }
    q.body = this.setOperations();
    if (this.c.isWord('ORDER')) q.orderBy = this.orderBy();
    if (this.c.acceptWord('LIMIT')) {
      q.limit = this.expr();
      if (this.c.acceptWord('OFFSET')) q.offset = this.expr();
    }
    return q;
  }

  private setOperations(): QueryBody {
    let left = this.queryPrimary();
    for (;;) {
      const tok = this.c.peek();
      const op = this.c.word();
      if (op !== 'UNION' && op !== 'INTERSECT' && op !== 'EXCEPT') return left;
      this.c.next();
      let all: boolean;
      if (this.c.acceptWord('ALL')) all = true;
      else if (this.c.acceptWord('DISTINCT')) all = false;
      else throw invalidQuery(`Syntax error: Expected keyword ALL or keyword DISTINCT after ${op}${at(tok)}`);
      left = { k: 'setOp', op, all, left, right: this.queryPrimary(), tok };
    }
  }

  private queryPrimary(): QueryBody {
    const tok = this.c.peek();
    if (this.c.acceptOp('(')) {
      const query = this.query();
      this.c.expectOp(')');
      return { k: 'parenQuery', query, tok };
    }
    return this.select();
  }

  private select(): Select {
    const tok = this.c.expectWord('SELECT');
    if (this.c.isWord('AS')) throw unsupported(`SELECT AS ${this.c.word(1) ?? ''}`.trim());
    const s: Select = { k: 'select', items: [], tok };
    if (this.c.acceptWord('DISTINCT')) s.distinct = true;
    else this.c.acceptWord('ALL');
    do s.items.push(this.selectItem());
    while (this.c.acceptOp(','));
    if (this.c.acceptWord('FROM')) s.from = this.fromClause();
    if (this.c.acceptWord('WHERE')) s.where = this.expr();
    if (this.c.isWord('GROUP')) {
      this.c.next();
      this.c.expectWord('BY');
      if (this.c.isWord('ROLLUP') && this.c.isOp('(', 1)) {
        this.c.i += 2;
        s.groupBy = { rollup: true, items: this.exprList(')') };
      } else {
        const items: Expr[] = [];
        do items.push(this.expr());
        while (this.c.acceptOp(','));
        s.groupBy = { rollup: false, items };
      }
    }
    if (this.c.acceptWord('HAVING')) s.having = this.expr();
    if (this.c.acceptWord('QUALIFY')) s.qualify = this.expr();
    if (this.c.acceptWord('WINDOW')) {
      s.windows = [];
      do {
        const name = this.c.name();
        this.c.expectWord('AS');
        s.windows.push({ name, spec: this.windowSpec() });
      } while (this.c.acceptOp(','));
    }
    return s;
  }

  private selectItem(): SelectItem {
    const tok = this.c.peek();
    // `*` or `a.b.*`
    let k = 0;
    while (this.c.isName(k) && this.c.isOp('.', k + 1)) k += 2;
    if (this.c.isOp('*', k)) {
      const qualifier: Name[] = [];
      while (!this.c.isOp('*')) {
        qualifier.push(...splitName(this.c.name()));
        this.c.next();
      }
      this.c.next();
      const star: SelectItem & { k: 'star' } = { k: 'star', tok };
      if (qualifier.length > 0) star.qualifier = qualifier;
      if (this.c.acceptWord('EXCEPT')) {
        if (!this.c.isOp('(')) throw invalidQuery(`Syntax error: Expected "(" after EXCEPT${at(this.c.peek())}`);
        star.except = this.nameList();
      }
      if (this.c.acceptWord('REPLACE')) {
        if (!this.c.isOp('(')) throw invalidQuery(`Syntax error: Expected "(" after REPLACE${at(this.c.peek())}`);
        this.c.next();
        star.replace = [];
        do {
          const expr = this.expr();
          this.c.expectWord('AS');
          star.replace.push({ expr, alias: this.alias() });
        } while (this.c.acceptOp(','));
        this.c.expectOp(')');
      }
      return star;
    }
    const item: SelectItem & { k: 'expr' } = { k: 'expr', expr: this.expr() };
    const alias = this.optionalAlias();
    if (alias) {
      item.alias = alias.name;
      if (alias.as) item.aliasAs = true;
    }
    return item;
  }

  /** `(a, b, …)`: plain column names. */
  private nameList(): Name[] {
    this.c.expectOp('(');
    const names: Name[] = [];
    do names.push(this.c.name());
    while (this.c.acceptOp(','));
    this.c.expectOp(')');
    return names;
  }

  /** The name after `AS`: a reserved keyword there is BigQuery's syntax error. */
  private alias(): Name {
    const tok = this.c.peek();
    if (tok.kind === 'ident' && RESERVED.has(tok.text.toUpperCase())) throw invalidQuery(`Syntax error: Unexpected keyword ${tok.text.toUpperCase()}${at(tok)}`);
    return this.c.name();
  }

  /** `[AS] alias`, when one is there. */
  private optionalAlias(): { name: Name; as: boolean } | undefined {
    if (this.c.acceptWord('AS')) return { name: this.alias(), as: true };
    const tok = this.c.peek();
    if (tok.kind === 'qident' || (tok.kind === 'ident' && !NOT_ALIASES.has(tok.text.toUpperCase()))) return { name: this.c.name(), as: false };
    return undefined;
  }

  // ------------------------------------------------------------------ FROM

  private fromClause(): FromItem {
    let left = this.fromItem();
    for (;;) {
      const tok = this.c.peek();
      if (this.c.acceptOp(',')) {
        left = { k: 'join', type: 'COMMA', written: ',', left, right: this.fromItem(), tok };
        continue;
      }
      const w = this.c.word();
      let type: 'INNER' | 'LEFT' | 'RIGHT' | 'FULL' | 'CROSS';
      const words: string[] = [];
      if (w === 'JOIN') type = 'INNER';
      else if (w === 'INNER' || w === 'CROSS') {
        type = w;
        words.push(w);
        this.c.next();
      } else if (w === 'LEFT' || w === 'RIGHT' || w === 'FULL') {
        type = w;
        words.push(w);
        this.c.next();
        if (this.c.acceptWord('OUTER')) words.push('OUTER');
      } else return left;
      this.c.expectWord('JOIN');
      words.push('JOIN');
      const join: FromItem & { k: 'join' } = { k: 'join', type, written: words.join(' '), left, right: this.fromItem(), tok };
      if (this.c.acceptWord('ON')) join.on = this.expr();
      else if (this.c.acceptWord('USING')) join.using = this.nameList();
      left = join;
    }
  }

  private fromItem(): FromItem {
    const tok = this.c.peek();
    if (this.c.isOp('[')) throw unsupported('legacy SQL table reference [project:dataset.table]');
    if (this.c.isOp('(')) {
      if (!this.isQueryStart()) throw unsupported(`parenthesised join${at(tok)}`);
      this.c.next();
      const query = this.query();
      this.c.expectOp(')');
      const item: FromItem & { k: 'subqueryItem' } = { k: 'subqueryItem', query, tok };
      const alias = this.optionalAlias();
      if (alias) item.alias = alias.name;
      return item;
    }
    if (this.c.isWord('UNNEST')) {
      this.c.next();
      if (!this.c.isOp('(')) throw invalidQuery(`Syntax error: Expected "(" after UNNEST${at(tok)}`);
      this.c.next();
      const arg = this.expr();
      this.c.expectOp(')');
      const item: FromItem & { k: 'unnestItem' } = { k: 'unnestItem', arg, tok };
      const alias = this.optionalAlias();
      if (alias) item.alias = alias.name;
      if (this.c.isWord('WITH') && this.c.isWord('OFFSET', 1)) throw unsupported('UNNEST ... WITH OFFSET');
      return item;
    }
    const table = this.tablePath();
    if (this.c.isOp('(')) throw unsupported(`table-valued function ${table.path.map((p) => p.text).join('.')}`);
    const alias = this.optionalAlias();
    if (alias) {
      table.alias = alias.name;
      if (alias.as) table.aliasAs = true;
    }
    if (this.c.isWord('WITH') && this.c.isWord('OFFSET', 1)) throw unsupported('UNNEST ... WITH OFFSET');
    return table;
  }

  /** `a.b.c`, `` `p.d.t` ``, `` `p`.`d`.`t` ``: a table (or CTE, or an array path for an implicit UNNEST). */
  private tablePath(): TableItem {
    const tok = this.c.peek();
    if (!this.c.isName()) throw invalidQuery(`Syntax error: Expected a table name${at(tok)}`);
    const path = splitName(this.c.name());
    while (this.c.isOp('.') && this.c.isName(1)) {
      this.c.next();
      path.push(...splitName(this.c.name()));
    }
    const dotted = path.map((p) => p.text).join('.');
    if (path.some((p) => p.text.toUpperCase() === 'INFORMATION_SCHEMA')) throw unsupported('INFORMATION_SCHEMA');
    if (dotted.endsWith('*') || this.c.isOp('*') || (this.c.isOp('.') && this.c.isOp('*', 1))) throw unsupported(`wildcard table ${dotted}*`);
    return { k: 'table', path, tok };
  }

  // ------------------------------------------------------------------ DML

  private insert(): Statement {
    const tok = this.c.next();
    this.c.acceptWord('INTO');
    const target = this.tablePath();
    let columns: Name[] | undefined;
    if (this.c.isOp('(') && !this.isQueryStart()) columns = this.nameList();
    let source: InsertSource;
    if (this.c.acceptWord('VALUES')) {
      const rows: Expr[][] = [];
      do {
        this.c.expectOp('(');
        rows.push(this.exprList(')'));
      } while (this.c.acceptOp(','));
      source = { k: 'values', rows };
    } else if (this.isQueryStart()) {
      source = { k: 'query', query: this.query() };
    } else {
      throw invalidQuery(`Syntax error: Expected VALUES or a query in INSERT${at(this.c.peek())}`);
    }
    return columns ? { k: 'insert', target, columns, source, tok } : { k: 'insert', target, source, tok };
  }

  /** A DML target: a table path with an optional alias. */
  private targetTable(): TableItem {
    const target = this.tablePath();
    const alias = this.optionalAlias();
    if (alias) {
      target.alias = alias.name;
      if (alias.as) target.aliasAs = true;
    }
    return target;
  }

  private assignments(): Assignment[] {
    const set: Assignment[] = [];
    do {
      const column = splitName(this.c.name());
      while (this.c.acceptOp('.')) column.push(...splitName(this.c.name()));
      this.c.expectOp('=');
      set.push({ column, value: this.expr() });
    } while (this.c.acceptOp(','));
    return set;
  }

  private update(): Statement {
    const tok = this.c.next();
    const target = this.targetTable();
    this.c.expectWord('SET');
    const set = this.assignments();
    let from: FromItem | undefined;
    if (this.c.acceptWord('FROM')) from = this.fromClause();
    if (!this.c.acceptWord('WHERE')) throw invalidQuery('UPDATE must have a WHERE clause');
    const where = this.expr();
    return from ? { k: 'update', target, set, from, where, tok } : { k: 'update', target, set, where, tok };
  }

  private delete(): Statement {
    const tok = this.c.next();
    this.c.acceptWord('FROM');
    const target = this.targetTable();
    if (!this.c.acceptWord('WHERE')) throw invalidQuery('DELETE must have a WHERE clause');
    return { k: 'delete', target, where: this.expr(), tok };
  }

  /** `MERGE [INTO] target [AS a] USING source [AS s] ON cond WHEN …`. */
  private merge(): Statement {
    const tok = this.c.next();
    this.c.acceptWord('INTO');
    const target = this.targetTable();
    this.c.expectWord('USING');
    let source: TableItem | (FromItem & { k: 'subqueryItem' });
    if (this.c.isOp('(')) {
      const item = this.fromItem();
      if (item.k !== 'subqueryItem') throw this.c.unexpected('a table or subquery');
      source = item;
    } else source = this.targetTable();
    this.c.expectWord('ON');
    const on = this.expr();
    const clauses: MergeClause[] = [];
    while (this.c.acceptWord('WHEN')) clauses.push(this.mergeClause());
    if (clauses.length === 0) throw this.c.unexpected('keyword WHEN');
    return { k: 'merge', target, source, on, clauses, tok };
  }

  private mergeClause(): MergeClause {
    const not = this.c.acceptWord('NOT');
    this.c.expectWord('MATCHED');
    let bySource = false;
    if (not && this.c.acceptWord('BY')) {
      if (this.c.acceptWord('SOURCE')) bySource = true;
      else this.c.expectWord('TARGET');
    }
    const cond = this.c.acceptWord('AND') ? this.expr() : undefined;
    this.c.expectWord('THEN');
    if (not && !bySource) {
      this.c.expectWord('INSERT');
      let columns: Name[] | undefined;
      if (this.c.isOp('(')) columns = this.nameList();
      let values: Expr[] | 'ROW';
      if (this.c.acceptWord('ROW')) values = 'ROW';
      else {
        this.c.expectWord('VALUES');
        this.c.expectOp('(');
        values = this.exprList(')');
      }
      const clause: MergeClause = { k: 'notMatchedByTarget', values };
      if (cond) clause.cond = cond;
      if (columns) clause.columns = columns;
      return clause;
    }
    let action: { k: 'update'; set: Assignment[] } | { k: 'delete' };
    if (this.c.acceptWord('UPDATE')) {
      this.c.expectWord('SET');
      action = { k: 'update', set: this.assignments() };
    } else {
      this.c.expectWord('DELETE');
      action = { k: 'delete' };
    }
    const clause: MergeClause = { k: bySource ? 'notMatchedBySource' : 'matched', action };
    if (cond) clause.cond = cond;
    return clause;
  }
}

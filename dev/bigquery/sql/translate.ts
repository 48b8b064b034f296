/**
 * GoogleSQL → DuckDB translator for a documented subset (see README.md).
 *
 * Design: tokenize ({@link tokenize}), build a bracket tree
 * ({@link buildTree}), then walk it emitting DuckDB SQL. Everything that is
 * not explicitly understood is rejected with `invalidQuery` naming the
 * construct, because a local endpoint that silently gives a different answer
 * than BigQuery is worse than one that refuses: in particular every function
 * call must be on the allow-list in `functions.ts`, and every unquoted
 * identifier that is not a known keyword is emitted double-quoted so DuckDB
 * can never read it as one of its own keywords or functions.
 */
import { invalid, invalidQuery, notFound, unsupported } from '../errors.js';
import { FUNCTIONS } from './functions.js';
import { partitionFilterColumns } from './partitionFilters.js';
import { rejectReservedAliases } from './reserved.js';
import { checkedDivide, checkedStringToInt64, checkedSubscript } from './checks.js';
import { duckString, parseDatePart } from './helpers.js';
import { isSubscriptAt, isUnaryAt, leftOperandStart, termEnd, termStart } from './operands.js';
import { tokenize } from './tokenizer.js';
import type { Token } from './tokenizer.js';
import { buildTree, isGroup, isOp, isWord, posOf, splitCommas, wordOf } from './tree.js';
import type { GroupNode, SqlNode } from './tree.js';
import { quoteIdent, sqlTypeToDuckDdl } from '../types.js';
import type { SqlTypeNode } from '../types.js';

/** Where a query runs: decides how table names resolve. */
export interface TranslateContext {
  /** The endpoint's own project id. */
  projectId: string;
  /** The project in the request URL (also accepted in table names). */
  requestProjectId?: string;
  /** `defaultDataset` of the request, used for one-part table names. */
  defaultDataset?: { datasetId: string; projectId?: string };
}

/** A table the query reads or writes. */
export interface TableRef {
  projectId: string;
  datasetId: string;
  tableId: string;
  /**
   * Set when the statement reads the table's rows (FROM/JOIN, or the target of
   * UPDATE/DELETE): the columns (lower-cased) that every such read filters in
   * a way usable for partition elimination (`partitionFilters.ts`). Unset for
   * a table that is only written (INSERT's target) or named by DDL.
   */
  readFilters?: string[];
}

/** The statement kinds the endpoint runs. */
export type StatementType = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';

/** Output of {@link translateQuery}. */
export interface Translation {
  /** DuckDB SQL; parameters are `$1..$n`. */
  sql: string;
  statementType: StatementType;
  /** Named parameters (lower-cased) in `$n` order; empty for positional queries. */
  namedParams: string[];
  /** Number of `?` placeholders; 0 for named queries. */
  positionalCount: number;
  /** Tables referenced (deduplicated), for existence checks and locking. */
  tables: TableRef[];
  /** The table written by INSERT/UPDATE/DELETE. */
  dmlTarget?: TableRef;
}

/** Keywords passed through to DuckDB unquoted (all reserved in GoogleSQL). */
const KEYWORDS = new Set([
  'SELECT', 'FROM', 'WHERE', 'GROUP', 'BY', 'HAVING', 'ORDER', 'ASC', 'DESC', 'LIMIT', 'AS', 'AND', 'OR',
  'NOT', 'IN', 'IS', 'NULL', 'TRUE', 'FALSE', 'LIKE', 'BETWEEN', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END',
  'JOIN', 'INNER', 'LEFT', 'RIGHT', 'FULL', 'OUTER', 'CROSS', 'ON', 'USING', 'UNION', 'ALL', 'DISTINCT',
  'INTERSECT', 'EXCEPT', 'WITH', 'RECURSIVE', 'INTO', 'SET', 'EXISTS', 'ANY', 'SOME', 'OVER', 'PARTITION',
  'ROWS', 'RANGE', 'UNBOUNDED', 'PRECEDING', 'FOLLOWING', 'CURRENT', 'NULLS', 'QUALIFY', 'WINDOW',
  'ROLLUP', 'CUBE', 'GROUPING', 'AT', 'DEFAULT', 'IGNORE', 'RESPECT',
]);

/** GoogleSQL reserved words (or statements) the endpoint does not support; named in the error. */
const REJECTED_KEYWORDS: Record<string, string> = {
  MERGE: 'MERGE',
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
  CREATE: 'statement CREATE',
  DROP: 'statement DROP',
  ALTER: 'statement ALTER',
};

/** Operators GoogleSQL lacks (or means differently) that DuckDB would accept. */
const REJECTED_OPS: Record<string, string> = {
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
};

/** Statements allowed as the first word. */
const STATEMENT_STARTS = new Set(['SELECT', 'WITH', 'INSERT', 'UPDATE', 'DELETE']);

const INTERVAL_UNITS = new Set(['MICROSECOND', 'MILLISECOND', 'SECOND', 'MINUTE', 'HOUR', 'DAY', 'WEEK', 'MONTH', 'QUARTER', 'YEAR']);

const TYPED_LITERALS: Record<string, string> = {
  DATE: 'DATE',
  DATETIME: 'TIMESTAMP',
  TIMESTAMP: 'TIMESTAMPTZ',
  TIME: 'TIME',
  NUMERIC: 'DECIMAL(38,9)',
  DECIMAL: 'DECIMAL(38,9)',
  BIGNUMERIC: 'DECIMAL(38,18)',
  BIGDECIMAL: 'DECIMAL(38,18)',
  JSON: 'JSON',
};

/** Clause keywords that end a FROM clause at the same nesting level. */
const FROM_ENDERS = new Set(['WHERE', 'GROUP', 'HAVING', 'QUALIFY', 'WINDOW', 'ORDER', 'LIMIT', 'UNION', 'INTERSECT', 'EXCEPT', 'SELECT', 'SET']);

/** Per-sequence state while walking one bracket level. */
interface SeqState {
  inFrom: boolean;
  expectTable: boolean;
  afterTable: boolean;
  sawLimit: boolean;
  /** Anonymous select items: node index after which `AS "fN_"` is appended. */
  autoAliases?: Map<number, string>;
}

/**
 * Translates one GoogleSQL statement into DuckDB SQL.
 *
 * @throws BigQueryApiError `invalidQuery` for syntax errors and unsupported
 * constructs (message names the construct), `notFound` for a table in a
 * foreign project, `invalid` for unqualified table names without a default dataset.
 */
export function translateQuery(sql: string, ctx: TranslateContext): Translation {
  return new Translator(ctx).run(sql);
}

/** The stateful walker; exposed to the function registry via {@link FnHelpers}. */
export class Translator {
  private namedParams: string[] = [];
  private positionalCount = 0;
  private tables = new Map<string, TableRef>();
  private ctes = new Set<string>();
  private aliases = new Set<string>();
  private unnestCounter = 0;
  private statementType: StatementType = 'SELECT';
  private dmlTarget: TableRef | undefined;

  constructor(private readonly ctx: TranslateContext) {}

  run(sql: string): Translation {
    const { tokens, dialectMarker } = tokenize(sql);
    if (dialectMarker && dialectMarker.toLowerCase() === 'legacysql') throw unsupported('legacy SQL (#legacySQL)');
    const nodes = buildTree(tokens);
    rejectReservedAliases(nodes);
    const firstWord = wordOf(nodes[0]);
    if (firstWord && !STATEMENT_STARTS.has(firstWord)) throw unsupported(`statement ${firstWord}`);
    // A trailing semicolon is fine; anything after one is a script.
    const semi = nodes.findIndex((n) => isOp(n, ';'));
    if (semi >= 0) {
      if (semi !== nodes.length - 1) throw unsupported('multi-statement queries (scripting)');
      nodes.pop();
    }
    if (nodes.length === 0) throw invalidQuery('Syntax error: Unexpected end of script at [1:1]');
    this.collectCtes(nodes);
    const out = this.statement(nodes);
    const result: Translation = {
      sql: out,
      statementType: this.statementType,
      namedParams: this.namedParams,
      positionalCount: this.positionalCount,
      tables: [...this.tables.values()],
    };
    if (this.dmlTarget) result.dmlTarget = this.dmlTarget;
    if (result.namedParams.length > 0 && result.positionalCount > 0) {
      throw invalidQuery('Query cannot mix named (@name) and positional (?) parameters');
    }
    return result;
  }

  // ---------------------------------------------------------------- statements

  private statement(nodes: SqlNode[]): string {
    const first = nodes[0] as SqlNode;
    const word = wordOf(first);
    if (isGroup(first)) return this.seq(nodes, true);
    if (!word || !STATEMENT_STARTS.has(word)) {
      const name = first.t === 'tok' ? first.tok.text.toUpperCase() : '(';
      throw unsupported(`statement ${name}`);
    }
    if (word === 'SELECT' || word === 'WITH') return this.seq(nodes, true);
    const hasWhere = nodes.some((n) => isWord(n, 'WHERE'));
    if (word === 'INSERT') {
      this.statementType = 'INSERT';
      let i = 1;
      if (isWord(nodes[i], 'INTO')) i++;
      const { sql: target, next, ref } = this.tablePath(nodes, i, true);
      this.dmlTarget = ref;
      i = next;
      let cols = '';
      if (isGroup(nodes[i])) {
        cols = `(${splitCommas((nodes[i] as GroupNode).items).map((c) => this.columnName(c)).join(', ')})`;
        i++;
      }
      if (!(isWord(nodes[i], 'VALUES', 'SELECT', 'WITH') || isGroup(nodes[i]))) {
        throw invalidQuery(`Syntax error: Expected VALUES or a query in INSERT${posOf(nodes[i])}`);
      }
      return `INSERT INTO ${target} ${cols} ${this.seq(nodes.slice(i), false, true)}`;
    }
    if (word === 'UPDATE') {
      this.statementType = 'UPDATE';
      if (!hasWhere) throw invalidQuery('UPDATE must have a WHERE clause');
      const { sql: target, next, ref } = this.tablePath(nodes, 1, true);
      this.dmlTarget = ref;
      this.noteRead(ref, nodes, 1, next);
      return `UPDATE ${target} ${this.seq(nodes.slice(next))}`;
    }
    // DELETE
    this.statementType = 'DELETE';
    if (!hasWhere) throw invalidQuery('DELETE must have a WHERE clause');
    let i = 1;
    if (isWord(nodes[i], 'FROM')) i++;
    const { sql: target, next, ref } = this.tablePath(nodes, i, true);
    this.dmlTarget = ref;
    this.noteRead(ref, nodes, i, next);
    return `DELETE FROM ${target} ${this.seq(nodes.slice(next))}`;
  }

  /** The column list of INSERT: plain identifiers only. */
  private columnName(nodes: SqlNode[]): string {
    const n = nodes[0];
    if (nodes.length !== 1 || !n || n.t !== 'tok' || (n.tok.kind !== 'ident' && n.tok.kind !== 'qident')) {
      throw invalidQuery(`Syntax error: Expected a column name${posOf(n)}`);
    }
    return quoteIdent(n.tok.kind === 'qident' ? (n.tok.value as string) : n.tok.text);
  }

  /** Finds CTE names (`WITH name AS (...)`) anywhere, so one-part names that match them are not treated as tables. */
  private collectCtes(nodes: SqlNode[]): void {
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i] as SqlNode;
      if (n.t === 'group') {
        this.collectCtes(n.items);
        continue;
      }
      if (!isWord(n, 'WITH')) continue;
      let j = i + 1;
      if (isWord(nodes[j], 'RECURSIVE')) j++;
      for (;;) {
        const name = nodes[j];
        if (!name || name.t !== 'tok' || (name.tok.kind !== 'ident' && name.tok.kind !== 'qident')) break;
        if (!isWord(nodes[j + 1], 'AS') || !isGroup(nodes[j + 2])) break;
        this.ctes.add((name.tok.kind === 'qident' ? (name.tok.value as string) : name.tok.text).toLowerCase());
        j += 3;
        if (!isOp(nodes[j], ',')) break;
        j++;
      }
    }
  }

  // ---------------------------------------------------------------- sequences

  /**
   * Translates a node sequence at one bracket level.
   * @param top the outermost SELECT: anonymous columns get BigQuery's `fN_` names.
   * @param insertBody the VALUES/SELECT part of INSERT (VALUES is a keyword there).
   */
  seq(nodes: SqlNode[], top = false, insertBody = false): string {
    const st: SeqState = { inFrom: false, expectTable: false, afterTable: false, sawLimit: false };
    if (top) st.autoAliases = this.anonymousColumns(nodes);
    const parts: string[] = [];
    // Where each emitted chunk of nodes starts in `parts`, so an operand already
    // emitted can be taken back and wrapped (division, array subscripts).
    const chunkStarts = new Map<number, number>();
    let i = 0;
    while (i < nodes.length) {
      const start = i;
      chunkStarts.set(i, parts.length);
      if (isOp(nodes[i], '/') && i > 0 && !st.expectTable) {
        i = this.checkedOperator(nodes, i, st, parts, chunkStarts, insertBody);
      } else if (isSubscriptAt(nodes, i, KEYWORDS) && !st.expectTable) {
        i = this.subscript(nodes, i, parts, chunkStarts);
      } else {
        i = this.node(nodes, i, st, parts, insertBody);
      }
      const alias = st.autoAliases?.get(i - 1);
      if (alias !== undefined && i - 1 >= start) parts.push(`AS ${quoteIdent(alias)}`);
    }
    return joinParts(parts);
  }

  /** Takes back the emitted SQL of the operand starting at node `from` (rounded down to a chunk start). */
  private takeBack(from: number, parts: string[], chunkStarts: Map<number, number>): string {
    let k = from;
    while (k > 0 && !chunkStarts.has(k)) k--;
    const at = chunkStarts.get(k) ?? 0;
    return joinParts(parts.splice(at));
  }

  /** Emits nodes `[from, to)` into a separate SQL string. */
  private emitRange(nodes: SqlNode[], from: number, to: number, st: SeqState, insertBody: boolean): { sql: string; next: number } {
    const out: string[] = [];
    const starts = new Map<number, number>();
    let k = from;
    while (k < to) {
      starts.set(k, out.length);
      k = isSubscriptAt(nodes, k, KEYWORDS) && k > from ? this.subscript(nodes, k, out, starts) : this.node(nodes, k, st, out, insertBody);
    }
    return { sql: joinParts(out), next: k };
  }

  /** `l / r` → a division that fails on zero like BigQuery (DuckDB answers NULL). */
  private checkedOperator(nodes: SqlNode[], i: number, st: SeqState, parts: string[], chunkStarts: Map<number, number>, insertBody: boolean): number {
    const left = this.takeBack(leftOperandStart(nodes, i, KEYWORDS), parts, chunkStarts);
    const end = termEnd(nodes, i + 1);
    if (end <= i + 1) throw invalidQuery(`Syntax error: Expected an operand after "/"${posOf(nodes[i])}`);
    const right = this.emitRange(nodes, i + 1, end, st, insertBody);
    parts.push(checkedDivide(left, right.sql));
    return right.next;
  }

  /** `arr[OFFSET(i)]` (and ORDINAL, SAFE_*, plain `[i]`) with BigQuery's bounds rules. */
  private subscript(nodes: SqlNode[], i: number, parts: string[], chunkStarts: Map<number, number>): number {
    const arr = this.takeBack(termStart(nodes, i - 1, KEYWORDS), parts, chunkStarts);
    parts.push(this.subscriptSql(arr, nodes[i] as GroupNode));
    return i + 1;
  }

  private subscriptSql(arr: string, g: GroupNode): string {
    const head = wordOf(g.items[0]);
    if (g.items.length === 2 && isGroup(g.items[1]) && (head === 'OFFSET' || head === 'ORDINAL' || head === 'SAFE_OFFSET' || head === 'SAFE_ORDINAL')) {
      return checkedSubscript(arr, this.expr(g.items[1].items), head);
    }
    if (g.items.length === 1 && g.items[0]?.t === 'tok' && g.items[0].tok.kind === 'string') {
      throw unsupported('JSON/STRUCT subscript with a string key');
    }
    return checkedSubscript(arr, this.expr(g.items), 'OFFSET');
  }

  /** Translates an expression (a node list without clause structure). */
  expr(nodes: SqlNode[]): string {
    if (nodes.length === 0) throw invalidQuery('Syntax error: Expected an expression');
    return this.seq(nodes);
  }

  /** Emits the node at `i` (and any it consumes); returns the next index. */
  private node(nodes: SqlNode[], i: number, st: SeqState, parts: string[], insertBody: boolean): number {
    const n = nodes[i] as SqlNode;
    const prev = nodes[i - 1];
    const next = nodes[i + 1];

    if (st.expectTable) {
      st.expectTable = false;
      st.afterTable = true;
      return this.tableExpr(nodes, i, parts);
    }

    if (n.t === 'group') {
      if (n.open === '[') {
        parts.push(this.bracket(n, prev));
        return i + 1;
      }
      parts.push(`(${this.subSeq(n.items)})`);
      return i + 1;
    }

    const tok = n.tok;
    switch (tok.kind) {
      case 'string':
        parts.push(duckString(tok.value as string));
        return i + 1;
      case 'bytes':
        parts.push(duckBytes(tok.bytes as Uint8Array));
        return i + 1;
      case 'number':
        parts.push(tok.isFloat ? `CAST(${tok.text} AS DOUBLE)` : this.intLiteral(tok.text, isUnaryAt(nodes, i - 1, KEYWORDS) ? undefined : prev, next));
        return i + 1;
      case 'param':
        parts.push(this.param(tok));
        return i + 1;
      case 'posparam':
        this.positionalCount++;
        parts.push(`$${this.positionalCount}`);
        return i + 1;
      case 'qident': {
        const name = tok.value as string;
        if (st.afterTable) this.aliases.add(name.toLowerCase());
        parts.push(name.split('.').map(quoteIdent).join('.'));
        return i + 1;
      }
      case 'op':
        return this.op(nodes, i, st, parts);
      case 'ident':
        return this.ident(nodes, i, st, parts, insertBody, prev, next);
      default:
        return i + 1;
    }
  }

  /**
   * An integer literal next to an arithmetic operator is typed INT64: DuckDB
   * types small literals INTEGER and would fail `2147483647 + 1` with an
   * INT32 overflow that BigQuery does not have. Elsewhere the literal stays
   * bare so `GROUP BY 1` / `ORDER BY 1` keep meaning a column ordinal.
   */
  private intLiteral(text: string, prev: SqlNode | undefined, next: SqlNode | undefined): string {
    const arithmetic = (n: SqlNode | undefined): boolean => ['+', '-', '*', '/'].some((o) => isOp(n, o));
    return arithmetic(prev) || arithmetic(next) ? `CAST(${text} AS BIGINT)` : text;
  }

  private subSeq(items: SqlNode[]): string {
    return this.seq(items);
  }

  private op(nodes: SqlNode[], i: number, st: SeqState, parts: string[]): number {
    const n = nodes[i] as SqlNode;
    const text = n.t === 'tok' ? n.tok.text : '';
    const rejected = REJECTED_OPS[text];
    if (rejected) throw unsupported(rejected);
    if (text === ';') throw unsupported('multi-statement queries (scripting)');
    if (text === ',' && st.inFrom) {
      st.expectTable = true;
      st.afterTable = false;
    }
    parts.push(text);
    return i + 1;
  }

  private ident(
    nodes: SqlNode[],
    i: number,
    st: SeqState,
    parts: string[],
    insertBody: boolean,
    prev: SqlNode | undefined,
    next: SqlNode | undefined,
  ): number {
    const n = nodes[i] as SqlNode & { t: 'tok' };
    const word = n.tok.text.toUpperCase();

    // After a dot (t.col, struct.field) every word is a name, even a keyword.
    if (isOp(prev, '.') && !isGroup(next)) {
      parts.push(quoteIdent(n.tok.text));
      return i + 1;
    }

    const rejected = REJECTED_KEYWORDS[word];
    if (rejected) throw unsupported(rejected);

    // Dotted function names (ML.PREDICT, NET.HOST, SAFE.DIVIDE ...) and dotted column paths.
    if (isOp(next, '.')) {
      let j = i;
      const path: string[] = [];
      while (nodes[j] && nodes[j]?.t === 'tok' && ((nodes[j] as { tok: Token }).tok.kind === 'ident' || (nodes[j] as { tok: Token }).tok.kind === 'qident') && (path.length === 0 || isOp(nodes[j - 1], '.'))) {
        const t = (nodes[j] as { tok: Token }).tok;
        path.push(t.kind === 'qident' ? (t.value as string) : t.text);
        if (!isOp(nodes[j + 1], '.')) break;
        j += 2;
      }
      if (isGroup(nodes[j + 1]) && path.length > 1) {
        const fname = path.join('.').toUpperCase();
        if (fname.startsWith('SAFE.')) throw unsupported(`SAFE. function prefix (${fname})`);
        throw unsupported(`function ${fname}`);
      }
      if (path.some((p) => p.toUpperCase() === 'INFORMATION_SCHEMA')) throw unsupported('INFORMATION_SCHEMA');
    }

    switch (word) {
      case 'FROM':
        st.inFrom = true;
        st.expectTable = true;
        st.afterTable = false;
        parts.push('FROM');
        return i + 1;
      case 'JOIN':
        st.expectTable = true;
        st.afterTable = false;
        parts.push('JOIN');
        return i + 1;
      case 'FOR':
        if (isWord(next, 'SYSTEM_TIME', 'SYSTEM')) throw unsupported('FOR SYSTEM_TIME AS OF (time travel)');
        throw unsupported('FOR');
      case 'UNION':
      case 'INTERSECT':
      case 'EXCEPT': {
        if (word === 'EXCEPT' && isOp(prev, '*')) {
          // SELECT * EXCEPT (a, b) → DuckDB's * EXCLUDE (a, b)
          if (!isGroup(next)) throw invalidQuery(`Syntax error: Expected "(" after EXCEPT${posOf(n)}`);
          parts.push(`EXCLUDE (${splitCommas(next.items).map((c) => this.columnName(c)).join(', ')})`);
          return i + 2;
        }
        st.inFrom = false;
        st.afterTable = false;
        if (isWord(next, 'DISTINCT')) {
          parts.push(word);
          return i + 2;
        }
        if (isWord(next, 'ALL')) {
          parts.push(`${word} ALL`);
          return i + 2;
        }
        throw invalidQuery(`Syntax error: Expected keyword ALL or keyword DISTINCT after ${word}${posOf(n)}`);
      }
      case 'REPLACE':
        if (isOp(prev, '*') || (isGroup(prev) && isWord(nodes[i - 2], 'EXCEPT'))) {
          if (!isGroup(next)) throw invalidQuery(`Syntax error: Expected "(" after REPLACE${posOf(n)}`);
          parts.push(`REPLACE (${this.subSeq(next.items)})`);
          return i + 2;
        }
        break;
      case 'SELECT':
        st.inFrom = false;
        st.afterTable = false;
        parts.push('SELECT');
        if (isWord(next, 'AS')) throw unsupported(`SELECT AS ${wordOf(nodes[i + 2]) ?? ''}`.trim());
        return i + 1;
      case 'WITH':
        if (isWord(next, 'OFFSET')) throw unsupported('UNNEST ... WITH OFFSET');
        parts.push('WITH');
        return i + 1;
      case 'IN':
        if (isWord(next, 'UNNEST') && isGroup(nodes[i + 2])) {
          parts.push(`IN (SELECT UNNEST(${this.expr((nodes[i + 2] as GroupNode).items)}))`);
          return i + 3;
        }
        break;
      case 'LIMIT':
        st.sawLimit = true;
        break;
      case 'INTERVAL':
        return this.interval(nodes, i, parts);
      case 'CAST':
      case 'SAFE_CAST':
        if (isGroup(next)) {
          parts.push(this.cast(next, word === 'SAFE_CAST'));
          return i + 2;
        }
        break;
      case 'EXTRACT':
        if (isGroup(next)) {
          parts.push(this.extract(next));
          return i + 2;
        }
        break;
      case 'ARRAY':
        return this.arrayExpr(nodes, i, parts);
      case 'STRUCT':
        return this.structExpr(nodes, i, parts);
      case 'UNNEST':
        throw unsupported('UNNEST outside FROM or IN UNNEST(...)');
      default:
        break;
    }

    if (FROM_ENDERS.has(word)) {
      st.inFrom = false;
      st.afterTable = false;
    }
    if (word === 'ON' || word === 'USING') st.afterTable = false;

    // Typed literals: DATE '2024-01-01', TIMESTAMP '...', NUMERIC '1.5', JSON '{}'.
    const literalType = TYPED_LITERALS[word];
    if (literalType && next && next.t === 'tok' && next.tok.kind === 'string') {
      parts.push(`CAST(${duckString(next.tok.value as string)} AS ${literalType})`);
      return i + 2;
    }

    // LEFT(s, n) / RIGHT(s, n) are functions (as join keywords they are never followed by "(").
    if ((word === 'LEFT' || word === 'RIGHT') && isGroup(next)) {
      parts.push(this.call(word, next, n));
      return i + 2;
    }

    if (this.isKeywordHere(word, prev, next, st, insertBody)) {
      parts.push(word);
      return i + 1;
    }

    // Function calls.
    if (isGroup(next)) {
      parts.push(this.call(word, next, n));
      return i + 2;
    }

    // Parameterless special functions usable without parentheses.
    if (word === 'CURRENT_DATE' || word === 'CURRENT_TIMESTAMP' || word === 'CURRENT_DATETIME' || word === 'CURRENT_TIME') {
      parts.push(this.call(word, { t: 'group', open: '(', items: [], tok: n.tok }, n));
      return i + 1;
    }

    // A plain identifier: column, alias, struct field, CTE or window name.
    if (st.afterTable && !isOp(prev, '.')) this.aliases.add(n.tok.text.toLowerCase());
    parts.push(quoteIdent(n.tok.text));
    return i + 1;
  }

  /** Context-dependent keywords that are also valid column names in GoogleSQL. */
  private isKeywordHere(word: string, prev: SqlNode | undefined, next: SqlNode | undefined, st: SeqState, insertBody: boolean): boolean {
    if (KEYWORDS.has(word)) return true;
    const p = wordOf(prev);
    switch (word) {
      case 'ROW':
        return p === 'CURRENT';
      case 'ZONE':
        return p === 'TIME';
      case 'TIME':
        return p === 'AT' && isWord(next, 'ZONE');
      case 'FIRST':
      case 'LAST':
        return p === 'NULLS';
      case 'SETS':
        return p === 'GROUPING';
      case 'OFFSET':
        return st.sawLimit;
      case 'VALUES':
        return insertBody;
      default:
        return false;
    }
  }

  // ---------------------------------------------------------------- FROM items

  /** A FROM/JOIN item: subquery, UNNEST, or table path (with implicit-UNNEST paths). */
  private tableExpr(nodes: SqlNode[], i: number, parts: string[]): number {
    const n = nodes[i] as SqlNode;
    if (n.t === 'group' && n.open === '[') throw unsupported('legacy SQL table reference [project:dataset.table]');
    if (isGroup(n)) {
      parts.push(`(${this.subSeq(n.items)})`);
      return i + 1;
    }
    if (isWord(n, 'UNNEST')) {
      const g = nodes[i + 1];
      if (!isGroup(g)) throw invalidQuery(`Syntax error: Expected "(" after UNNEST${posOf(n)}`);
      return this.unnestFrom(this.expr(g.items), nodes, i + 2, parts);
    }
    if (n.t === 'tok' && (n.tok.kind === 'ident' || n.tok.kind === 'qident')) {
      const path = readPath(nodes, i);
      // `FROM t, t.arr` — implicit UNNEST of an array column of an earlier alias.
      if (path.parts.length >= 2 && this.aliases.has((path.parts[0] as string).toLowerCase())) {
        return this.unnestFrom(path.parts.map(quoteIdent).join('.'), nodes, path.next, parts);
      }
      if (isGroup(nodes[path.next])) throw unsupported(`table-valued function ${path.parts.join('.')}`);
      const { sql, next, ref } = this.tablePath(nodes, i, false);
      this.noteRead(ref, nodes, i, next);
      parts.push(sql);
      if (isWord(nodes[next], 'FOR')) throw unsupported('FOR SYSTEM_TIME AS OF (time travel)');
      return next;
    }
    // Not a table item after all (e.g. `FROM` inside something odd): emit normally.
    const st: SeqState = { inFrom: false, expectTable: false, afterTable: false, sawLimit: false };
    return this.node(nodes, i, st, parts, false);
  }

  /** `UNNEST(x) [AS] alias` → DuckDB `UNNEST(x) AS "__unnest_N"("alias")`. */
  private unnestFrom(arg: string, nodes: SqlNode[], i: number, parts: string[]): number {
    let alias = 'f0_';
    let j = i;
    if (isWord(nodes[j], 'AS')) j++;
    const a = nodes[j];
    if (a && a.t === 'tok' && (a.tok.kind === 'qident' || (a.tok.kind === 'ident' && !KEYWORDS.has(a.tok.text.toUpperCase()) && !REJECTED_KEYWORDS[a.tok.text.toUpperCase()]))) {
      alias = a.tok.kind === 'qident' ? (a.tok.value as string) : a.tok.text;
      this.aliases.add(alias.toLowerCase());
      j++;
    } else if (j !== i) {
      throw invalidQuery(`Syntax error: Expected an alias after AS${posOf(a)}`);
    }
    if (isWord(nodes[j], 'WITH') && isWord(nodes[j + 1], 'OFFSET')) throw unsupported('UNNEST ... WITH OFFSET');
    this.unnestCounter++;
    parts.push(`UNNEST(${arg}) AS ${quoteIdent(`__unnest_${this.unnestCounter}`)}(${quoteIdent(alias)})`);
    return j;
  }

  /** Resolves a table path starting at `i` to `"dataset"."table"`, recording the reference. */
  private tablePath(nodes: SqlNode[], i: number, dml: boolean): { sql: string; next: number; ref: TableRef } {
    const path = readPath(nodes, i);
    if (path.parts.length === 0) throw invalidQuery(`Syntax error: Expected a table name${posOf(nodes[i])}`);
    if (path.parts.some((p) => p.toUpperCase() === 'INFORMATION_SCHEMA')) throw unsupported('INFORMATION_SCHEMA');
    const last = path.parts[path.parts.length - 1] as string;
    if (last.endsWith('*') || isOp(nodes[path.next], '*')) throw unsupported(`wildcard table ${path.parts.join('.')}*`);
    const dottedName = path.parts.join('.');
    if (path.parts.length === 1) {
      const name = path.parts[0] as string;
      if (!dml && this.ctes.has(name.toLowerCase())) return { sql: quoteIdent(name), next: path.next, ref: { projectId: '', datasetId: '', tableId: name } };
      const dd = this.ctx.defaultDataset;
      if (!dd) throw invalid(`Table "${name}" must be qualified with a dataset (e.g. dataset.table).`);
      return this.recordTable(dd.projectId ?? this.ctx.requestProjectId ?? this.ctx.projectId, dd.datasetId, name, path.next);
    }
    if (path.parts.length === 2) {
      const [ds, t] = path.parts as [string, string];
      return this.recordTable(this.ctx.requestProjectId ?? this.ctx.projectId, ds, t, path.next);
    }
    if (path.parts.length === 3) {
      const [p, ds, t] = path.parts as [string, string, string];
      if (p !== this.ctx.projectId && p !== this.ctx.requestProjectId) {
        throw notFound(`Dataset ${p}:${ds} was not found in location US (the local endpoint only serves project ${this.ctx.projectId})`);
      }
      return this.recordTable(p, ds, t, path.next);
    }
    throw invalidQuery(`Invalid table name: ${dottedName}`);
  }

  private recordTable(projectId: string, datasetId: string, tableId: string, next: number): { sql: string; next: number; ref: TableRef } {
    const key = `${datasetId}.${tableId}`;
    const ref: TableRef = this.tables.get(key) ?? { projectId, datasetId, tableId };
    this.tables.set(key, ref);
    return { sql: `${quoteIdent(datasetId)}.${quoteIdent(tableId)}`, next, ref };
  }

  /**
   * Records a read of the table at `nodes[at]` (its path ends before `next`):
   * the columns its query block filters for partition elimination, kept as
   * the intersection over every read of the table in the statement.
   */
  private noteRead(ref: TableRef, nodes: SqlNode[], at: number, next: number): void {
    if (!this.tables.has(`${ref.datasetId}.${ref.tableId}`)) return; // a CTE
    let j = next;
    if (isWord(nodes[j], 'AS')) j++;
    const a = nodes[j];
    const alias = a?.t === 'tok' && (a.tok.kind === 'qident' || (a.tok.kind === 'ident' && !KEYWORDS.has(a.tok.text.toUpperCase()) && !isWord(a, 'SET', 'FOR'))) ? (a.tok.value ?? a.tok.text) : ref.tableId;
    const columns = partitionFilterColumns(nodes, at, [alias.toLowerCase()]);
    ref.readFilters = ref.readFilters === undefined ? columns : ref.readFilters.filter((c) => columns.includes(c));
  }

  // ---------------------------------------------------------------- expressions

  private param(tok: Token): string {
    const name = tok.value as string;
    if (name.startsWith('@@')) throw unsupported(`system variable ${name}`);
    const key = name.toLowerCase();
    let idx = this.namedParams.indexOf(key);
    if (idx < 0) {
      this.namedParams.push(key);
      idx = this.namedParams.length - 1;
    }
    return `$${idx + 1}`;
  }

  /** `[...]` array literal. */
  private bracket(g: GroupNode, prev: SqlNode | undefined): string {
    // Subscripts are taken by seq() (they need the array operand); what reaches here is an array literal.
    if (prev && (isGroup(prev) || isGroup(prev, '[') || (prev.t === 'tok' && prev.tok.kind !== 'op' && !KEYWORDS.has(prev.tok.text.toUpperCase())))) {
      throw unsupported(`array subscript in this position${posOf(g)}`);
    }
    return `[${this.seq(g.items)}]`;
  }

  /** `INTERVAL expr unit` → `INTERVAL (expr) unit` (DuckDB needs the parentheses for non-literals). */
  private interval(nodes: SqlNode[], i: number, parts: string[]): number {
    // The value is everything up to the unit keyword (at least one node).
    let j = i + 2;
    while (j < nodes.length && !INTERVAL_UNITS.has(wordOf(nodes[j]) ?? '')) j++;
    const unit = wordOf(nodes[j]);
    if (!unit) throw unsupported(`INTERVAL without a supported unit${posOf(nodes[i])}`);
    if (isWord(nodes[j + 1], 'TO')) throw unsupported('INTERVAL ... TO ... ranges');
    const exprNodes = nodes.slice(i + 1, j);
    const only = exprNodes[0];
    const value = exprNodes.length === 1 && only?.t === 'tok' && only.tok.kind === 'string' ? duckString(only.tok.value as string) : `(${this.expr(exprNodes)})`;
    if (unit === 'QUARTER') parts.push(`(INTERVAL ${value} MONTH * 3)`);
    else parts.push(`INTERVAL ${value} ${unit}`);
    return j + 1;
  }

  /** CAST(x AS type) / SAFE_CAST(x AS type) with GoogleSQL type names. */
  private cast(g: GroupNode, safe: boolean): string {
    let asIdx = -1;
    for (let k = g.items.length - 1; k >= 0; k--) {
      if (isWord(g.items[k], 'AS')) {
        asIdx = k;
        break;
      }
    }
    if (asIdx <= 0) throw invalidQuery(`Syntax error: Expected AS in CAST${posOf(g)}`);
    const typeNodes = g.items.slice(asIdx + 1);
    const formatIdx = typeNodes.findIndex((t) => isWord(t, 'FORMAT'));
    if (formatIdx >= 0) throw unsupported('CAST ... FORMAT');
    const { type, next } = parseType(typeNodes, 0);
    if (next !== typeNodes.length) throw invalidQuery(`Syntax error: Unexpected tokens after CAST type${posOf(typeNodes[next])}`);
    const value = this.expr(g.items.slice(0, asIdx));
    const target = sqlTypeToDuckDdl(type);
    const fn = safe ? 'TRY_CAST' : 'CAST';
    if (target === 'BIGINT') {
      // DuckDB rounds DOUBLE → BIGINT half-to-even; BigQuery rounds half away from zero (round() does).
      // typeof() is constant-folded, and TRY_CAST keeps the unused branch bindable for any input type.
      // A STRING must be an integer literal ("Bad int64 value: 1.5"); DuckDB would round it.
      return (
        `(CASE WHEN typeof(${value}) IN ('DOUBLE', 'FLOAT') THEN ${fn}(round(TRY_CAST(${value} AS DOUBLE)) AS BIGINT) ` +
        `WHEN typeof(${value}) = 'VARCHAR' THEN ${checkedStringToInt64(`TRY_CAST(${value} AS VARCHAR)`, safe)} ` +
        `ELSE ${fn}(${value} AS BIGINT) END)`
      );
    }
    // STRING <-> BYTES is UTF-8 encoding in BigQuery; DuckDB's casts read/write `\xHH` escapes instead.
    if (target === 'BLOB') return `(CASE WHEN typeof(${value}) = 'VARCHAR' THEN encode(TRY_CAST(${value} AS VARCHAR)) ELSE ${fn}(${value} AS BLOB) END)`;
    if (target === 'VARCHAR') {
      const decode = safe ? `CASE WHEN TRY_CAST(${value} AS BLOB) IS NULL THEN NULL ELSE TRY(decode(TRY_CAST(${value} AS BLOB))) END` : `decode(TRY_CAST(${value} AS BLOB))`;
      return `(CASE WHEN typeof(${value}) = 'BLOB' THEN ${decode} ELSE ${fn}(${value} AS VARCHAR) END)`;
    }
    return `${fn}(${value} AS ${target})`;
  }

  /** EXTRACT(part FROM expr), mapping BigQuery part semantics onto DuckDB's. */
  private extract(g: GroupNode): string {
    const fromIdx = g.items.findIndex((x) => isWord(x, 'FROM'));
    if (fromIdx <= 0) throw invalidQuery(`Syntax error: Expected FROM in EXTRACT${posOf(g)}`);
    const part = parseDatePart(g.items.slice(0, fromIdx), 'EXTRACT');
    const e = this.expr(g.items.slice(fromIdx + 1));
    switch (part.name) {
      case 'YEAR':
      case 'MONTH':
      case 'DAY':
      case 'HOUR':
      case 'MINUTE':
      case 'QUARTER':
      case 'SECOND':
        return `EXTRACT(${part.name.toLowerCase()} FROM ${e})`;
      case 'MILLISECOND':
        return `(EXTRACT(millisecond FROM ${e}) % 1000)`;
      case 'MICROSECOND':
        return `(EXTRACT(microsecond FROM ${e}) % 1000000)`;
      case 'DAYOFWEEK':
        return `(EXTRACT(dow FROM ${e}) + 1)`;
      case 'DAYOFYEAR':
        return `EXTRACT(doy FROM ${e})`;
      case 'WEEK':
        if (part.weekday === undefined || part.weekday === 'SUNDAY') return `CAST(strftime(${e}, '%U') AS BIGINT)`;
        if (part.weekday === 'MONDAY') return `CAST(strftime(${e}, '%W') AS BIGINT)`;
        throw unsupported(`EXTRACT(WEEK(${part.weekday}) ...)`);
      case 'ISOWEEK':
        return `EXTRACT(week FROM ${e})`;
      case 'ISOYEAR':
        return `EXTRACT(isoyear FROM ${e})`;
      case 'DATE':
        return `CAST(${e} AS DATE)`;
      case 'TIME':
        return `CAST(${e} AS TIME)`;
      case 'DATETIME':
        return `CAST(${e} AS TIMESTAMP)`;
      default:
        throw unsupported(`EXTRACT part ${part.name}`);
    }
  }

  /** ARRAY<T>[...] typed literals and ARRAY[...]; ARRAY(subquery) is rejected (DuckDB would lose ORDER BY). */
  private arrayExpr(nodes: SqlNode[], i: number, parts: string[]): number {
    const next = nodes[i + 1];
    if (isOp(next, '<')) {
      const { type, next: after } = parseType(nodes, i);
      const lit = nodes[after];
      if (!isGroup(lit, '[')) throw invalidQuery(`Syntax error: Expected "[" after ${'ARRAY<...>'}${posOf(lit)}`);
      parts.push(`CAST([${this.seq(lit.items)}] AS ${sqlTypeToDuckDdl(type)})`);
      return after + 1;
    }
    if (isGroup(next, '[')) {
      parts.push(`[${this.seq(next.items)}]`);
      return i + 2;
    }
    if (isGroup(next)) throw unsupported('ARRAY(subquery)');
    throw invalidQuery(`Syntax error: Unexpected ARRAY${posOf(nodes[i])}`);
  }

  /** STRUCT(x AS a, ...) and STRUCT<a T, ...>(...) → struct_pack(a := ...). */
  private structExpr(nodes: SqlNode[], i: number, parts: string[]): number {
    let j = i + 1;
    let typed: SqlTypeNode | undefined;
    if (isOp(nodes[j], '<')) {
      const r = parseType(nodes, i);
      typed = r.type;
      j = r.next;
    }
    const g = nodes[j];
    if (!isGroup(g)) throw invalidQuery(`Syntax error: Expected "(" after STRUCT${posOf(nodes[i])}`);
    const args = splitCommas(g.items);
    if (typed && typed.fields && typed.fields.length !== args.length) {
      throw invalidQuery(`STRUCT type has ${typed.fields.length} fields but ${args.length} values were given`);
    }
    const fields = args.map((arg, k) => {
      let name: string | undefined;
      let exprNodes = arg;
      if (arg.length >= 3 && isWord(arg[arg.length - 2], 'AS')) {
        const a = arg[arg.length - 1] as SqlNode;
        name = a.t === 'tok' ? (a.tok.kind === 'qident' ? (a.tok.value) : a.tok.text) : undefined;
        exprNodes = arg.slice(0, -2);
      } else {
        const last = arg[arg.length - 1];
        if (last && last.t === 'tok' && (last.tok.kind === 'ident' || last.tok.kind === 'qident') && (arg.length === 1 || isOp(arg[arg.length - 2], '.'))) {
          name = last.tok.kind === 'qident' ? (last.tok.value) : last.tok.text;
        }
      }
      const tf = typed?.fields?.[k];
      if (tf?.name) name = tf.name;
      let value = this.expr(exprNodes);
      if (tf) value = `CAST(${value} AS ${sqlTypeToDuckDdl(tf.type)})`;
      return `${quoteIdent(name ?? `_field_${k + 1}`)} := ${value}`;
    });
    parts.push(`struct_pack(${fields.join(', ')})`);
    return j + 1;
  }

  /** A call to an allow-listed function. */
  private call(word: string, g: GroupNode, nameNode: SqlNode): string {
    const spec = FUNCTIONS[word];
    if (!spec) throw unsupported(`function ${word}`);
    if (spec.raw) return spec.raw(g.items, this, word);
    const rawArgs = splitCommas(g.items);
    if (rawArgs.length < spec.min || rawArgs.length > spec.max) {
      throw invalidQuery(`No matching signature for function ${word} with ${rawArgs.length} argument(s)${posOf(nameNode)}`);
    }
    return (spec.impl as NonNullable<typeof spec.impl>)(rawArgs, this, word);
  }

  // ---------------------------------------------------------------- column naming

  /**
   * BigQuery names unaliased, non-column select items `f0_`, `f1_`, …; DuckDB
   * would name them after the expression text. Returns the node index (within
   * the top sequence) after which to append each generated alias.
   */
  private anonymousColumns(nodes: SqlNode[]): Map<number, string> {
    const result = new Map<number, string>();
    const selIdx = nodes.findIndex((n) => isWord(n, 'SELECT'));
    if (selIdx < 0) return result;
    let k = selIdx + 1;
    if (isWord(nodes[k], 'DISTINCT', 'ALL')) k++;
    const items: { start: number; end: number }[] = [];
    let start = k;
    for (; k < nodes.length; k++) {
      const n = nodes[k];
      if (isOp(n, ',')) {
        items.push({ start, end: k - 1 });
        start = k + 1;
        continue;
      }
      if (isWord(n, 'FROM', 'WHERE', 'GROUP', 'HAVING', 'QUALIFY', 'WINDOW', 'ORDER', 'LIMIT', 'UNION', 'INTERSECT') || (isWord(n, 'EXCEPT') && !isOp(nodes[k - 1], '*'))) break;
    }
    items.push({ start, end: k - 1 });
    let counter = 0;
    for (const { start: s, end: e } of items) {
      if (e < s) continue;
      const item = nodes.slice(s, e + 1);
      if (item.some((n, idx) => isOp(n, '*') && (idx === 0 || isOp(item[idx - 1], '.')))) continue;
      const last = item[item.length - 1] as SqlNode;
      const before = item[item.length - 2];
      const lastIsName = last.t === 'tok' && (last.tok.kind === 'qident' || (last.tok.kind === 'ident' && !KEYWORDS.has(last.tok.text.toUpperCase())));
      const named = isWord(before, 'AS') || (lastIsName && (item.length === 1 || isOp(before, '.') || !(before && before.t === 'tok' && before.tok.kind === 'op')));
      if (named) continue;
      result.set(e, `f${counter}_`);
      counter++;
    }
    return result;
  }
}

// ------------------------------------------------------------------ helpers

/** Reads `a.b.c` / `` `a.b`.c `` starting at `i`. */
function readPath(nodes: SqlNode[], i: number): { parts: string[]; next: number } {
  const parts: string[] = [];
  let j = i;
  for (;;) {
    const n = nodes[j];
    if (!n || n.t !== 'tok' || (n.tok.kind !== 'ident' && n.tok.kind !== 'qident')) break;
    if (n.tok.kind === 'qident') parts.push(...(n.tok.value as string).split('.'));
    else parts.push(n.tok.text);
    j++;
    if (isOp(nodes[j], '.') && nodes[j + 1]?.t === 'tok' && (nodes[j + 1] as { tok: Token }).tok.kind !== 'op') {
      j++;
      continue;
    }
    break;
  }
  return { parts, next: j };
}

/** Parses a GoogleSQL type starting at `i` (handles `ARRAY<STRUCT<a INT64>>` and the `>>` token). */
export function parseType(nodes: SqlNode[], i: number): { type: SqlTypeNode; next: number } {
  // Flatten '>>' into two '>' so nested generics close properly.
  const flat: SqlNode[] = [];
  for (const n of nodes.slice(i)) {
    if (isOp(n, '>>')) {
      const tok = (n as { tok: Token }).tok;
      flat.push({ t: 'tok', tok: { ...tok, text: '>' } }, { t: 'tok', tok: { ...tok, text: '>' } });
    } else flat.push(n);
  }
  let p = 0;
  const one = (): SqlTypeNode => {
    const name = wordOf(flat[p]);
    if (!name) throw invalidQuery(`Syntax error: Expected a type name${posOf(flat[p])}`);
    p++;
    if (name === 'ARRAY') {
      if (!isOp(flat[p], '<')) throw invalidQuery('Syntax error: Expected "<" after ARRAY');
      p++;
      const element = one();
      if (!isOp(flat[p], '>')) throw invalidQuery('Syntax error: Expected ">" to close ARRAY<');
      p++;
      return { name, element };
    }
    if (name === 'STRUCT') {
      if (!isOp(flat[p], '<')) throw invalidQuery('Syntax error: Expected "<" after STRUCT');
      p++;
      const fields: { name: string | undefined; type: SqlTypeNode }[] = [];
      while (!isOp(flat[p], '>')) {
        let fname: string | undefined;
        const a = flat[p];
        const b = flat[p + 1];
        // "name TYPE" vs. bare "TYPE": a field name is followed by another word.
        if (a && a.t === 'tok' && (a.tok.kind === 'ident' || a.tok.kind === 'qident') && b && b.t === 'tok' && b.tok.kind === 'ident') {
          fname = a.tok.kind === 'qident' ? (a.tok.value) : a.tok.text;
          p++;
        }
        fields.push({ name: fname, type: one() });
        if (isOp(flat[p], ',')) p++;
        else if (!isOp(flat[p], '>')) throw invalidQuery(`Syntax error: Expected "," or ">" in STRUCT type${posOf(flat[p])}`);
      }
      p++;
      return { name, fields };
    }
    const t: SqlTypeNode = { name };
    if (isGroup(flat[p])) {
      const params = splitCommas((flat[p] as GroupNode).items).map((a) => Number(a[0]?.t === 'tok' ? a[0].tok.text : NaN));
      if (name === 'NUMERIC' || name === 'DECIMAL' || name === 'BIGNUMERIC' || name === 'BIGDECIMAL') t.params = params;
      p++;
    }
    return t;
  };
  const type = one();
  // Map the index in `flat` back to `nodes` (each '>>' expanded to two).
  let consumed = 0;
  let k = i;
  while (consumed < p && k < nodes.length) {
    consumed += isOp(nodes[k], '>>') ? 2 : 1;
    k++;
  }
  if (consumed !== p) throw invalidQuery('Syntax error: Malformed type (">>" split across a type boundary)');
  return { type, next: k };
}

/** A DuckDB BLOB literal built from `\xHH` escapes. */
function duckBytes(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += `\\x${b.toString(16).padStart(2, '0').toUpperCase()}`;
  return `CAST('${s}' AS BLOB)`;
}

/** Joins emitted fragments with spaces, but glues `.` path separators. */
function joinParts(parts: string[]): string {
  let out = '';
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k] as string;
    if (k === 0) out = p;
    else if (p === '.' || parts[k - 1] === '.') out += p;
    else out += ` ${p}`;
  }
  return out;
}


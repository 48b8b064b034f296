/**
 * GoogleSQL → DuckDB for one statement: tokenize, parse into the syntax tree,
 * resolve names and parameters, emit DuckDB SQL. Everything that is not
 * explicitly understood is rejected with `invalidQuery` naming the construct,
 * because a local endpoint that silently gives a different answer than
 * BigQuery is worse than one that refuses: in particular every function call
 * must be on the allow-list in `functions.ts`, and every identifier is emitted
 * double-quoted so DuckDB can never read it as one of its own keywords or
 * functions.
 */
import { unsupported } from '../errors.js';
import type { Statement } from './ast.js';
import { emitStatement } from './emitQuery.js';
import { parseStatement } from './parser.js';
import { resolveStatement } from './resolve.js';
import type { Resolution, StatementType, TableRef, TranslateContext } from './resolve.js';
import { tokenize } from './tokenizer.js';
import type { Token } from './tokenizer.js';

export type { StatementType, TableRef, TranslateContext };

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
  /** The table written by INSERT/UPDATE/DELETE/MERGE. */
  dmlTarget?: TableRef;
  /** The resolved tree, for the byte estimate and MERGE's checks. */
  tree: Statement;
  /** The table reads the resolver found (with their query blocks). */
  reads: Resolution['reads'];
}

/** Parses GoogleSQL text into a statement tree (no resolution). */
export function parseSql(sql: string): Statement {
  const { tokens, dialectMarker } = tokenize(sql);
  if (dialectMarker && dialectMarker.toLowerCase() === 'legacysql') throw unsupported('legacy SQL (#legacySQL)');
  return parseStatement(tokens);
}

/** Translates one statement's tokens (ending in `eof`), as the script splitter cuts them. */
export function translateTokens(tokens: Token[], ctx: TranslateContext): Translation {
  return translateTree(parseStatement(tokens), ctx);
}

/**
 * Translates one GoogleSQL statement into DuckDB SQL.
 *
 * @throws BigQueryApiError `invalidQuery` for syntax errors and unsupported
 * constructs (message names the construct), `notFound` for a table in a
 * foreign project, `invalid` for unqualified table names without a default dataset.
 */
export function translateQuery(sql: string, ctx: TranslateContext): Translation {
  return translateTree(parseSql(sql), ctx);
}

function translateTree(tree: Statement, ctx: TranslateContext): Translation {
  const r = resolveStatement(tree, ctx);
  const out: Translation = {
    sql: emitStatement(tree),
    statementType: r.statementType,
    namedParams: r.namedParams,
    positionalCount: r.positionalCount,
    tables: r.tables,
    tree,
    reads: r.reads,
  };
  if (r.dmlTarget) out.dmlTarget = r.dmlTarget;
  return out;
}

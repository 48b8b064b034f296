/**
 * GoogleSQL's reserved keywords, as the lexical reference lists them
 * (https://cloud.google.com/bigquery/docs/reference/standard-sql/lexical#reserved_keywords).
 * BigQuery refuses one as an unquoted alias (`SELECT 1 AS nulls` is a syntax error there);
 * DuckDB accepts most of them, so without this check a query would pass here and fail in
 * production.
 */
import { invalidQuery } from '../errors.js';
import { posOf, type SqlNode } from './tree.js';

const RESERVED_KEYWORDS = new Set([
  'ALL', 'AND', 'ANY', 'ARRAY', 'AS', 'ASC', 'ASSERT_ROWS_MODIFIED', 'AT', 'BETWEEN', 'BY', 'CASE', 'CAST',
  'COLLATE', 'CONTAINS', 'CREATE', 'CROSS', 'CUBE', 'CURRENT', 'DEFAULT', 'DEFINE', 'DESC', 'DISTINCT',
  'ELSE', 'END', 'ENUM', 'ESCAPE', 'EXCEPT', 'EXCLUDE', 'EXISTS', 'EXTRACT', 'FALSE', 'FETCH', 'FOLLOWING',
  'FOR', 'FROM', 'FULL', 'GROUP', 'GROUPING', 'GROUPS', 'HASH', 'HAVING', 'IF', 'IGNORE', 'IN', 'INNER',
  'INTERSECT', 'INTERVAL', 'INTO', 'IS', 'JOIN', 'LATERAL', 'LEFT', 'LIKE', 'LIMIT', 'LOOKUP', 'MERGE',
  'NATURAL', 'NEW', 'NO', 'NOT', 'NULL', 'NULLS', 'OF', 'ON', 'OR', 'ORDER', 'OUTER', 'OVER', 'PARTITION',
  'PRECEDING', 'PROTO', 'QUALIFY', 'RANGE', 'RECURSIVE', 'RESPECT', 'RIGHT', 'ROLLUP', 'ROWS', 'SELECT',
  'SET', 'SOME', 'STRUCT', 'TABLESAMPLE', 'THEN', 'TO', 'TREAT', 'TRUE', 'UNBOUNDED', 'UNION', 'UNNEST',
  'USING', 'WHEN', 'WHERE', 'WINDOW', 'WITH', 'WITHIN',
]);

/** Reserved words that legitimately follow `AS`, and when. */
function legitimateAfterAs(word: string, before: SqlNode | undefined, after: SqlNode | undefined): boolean {
  // `CREATE TABLE … AS SELECT` / `AS WITH …`
  if (word === 'SELECT' || word === 'WITH') return true;
  // A parameterised type in `CAST(x AS ARRAY<INT64>)`, `RANGE<DATE>`, `STRUCT<a INT64>`.
  if ((word === 'ARRAY' || word === 'STRUCT' || word === 'RANGE') && after?.t === 'tok' && after.tok.text === '<') return true;
  // `FOR SYSTEM_TIME AS OF …` (time travel)
  if (word === 'OF' && before?.t === 'tok' && before.tok.text.toUpperCase() === 'SYSTEM_TIME') return true;
  // `SELECT AS STRUCT …`
  if (word === 'STRUCT' && before?.t === 'tok' && before.tok.text.toUpperCase() === 'SELECT') return true;
  // `CAST(x AS INTERVAL)`: the type is the last thing in the parentheses.
  return word === 'INTERVAL' && after === undefined;
}

/** Throws BigQuery's syntax error for the first reserved keyword used as an unquoted alias after `AS`. */
export function rejectReservedAliases(nodes: readonly SqlNode[]): void {
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i] as SqlNode;
    if (node.t === 'group') {
      rejectReservedAliases(node.items);
      continue;
    }
    if (node.tok.kind !== 'ident' || node.tok.text.toUpperCase() !== 'AS') continue;
    const next = nodes[i + 1];
    if (next === undefined || next.t !== 'tok' || next.tok.kind !== 'ident') continue;
    const word = next.tok.text.toUpperCase();
    if (RESERVED_KEYWORDS.has(word) && !legitimateAfterAs(word, nodes[i - 1], nodes[i + 2])) {
      throw invalidQuery(`Syntax error: Unexpected keyword ${word}${posOf(next)}`);
    }
  }
}

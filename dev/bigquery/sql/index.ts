/**
 * The GoogleSQL → DuckDB SQL pipeline: tokenizer, parser (syntax tree),
 * resolver, emitters, function allow-list and the runtime checks they emit.
 * The only entry the rest of the endpoint imports.
 */
export { tokenize } from './tokenizer.js';
export type { Token, TokenKind, TokenizeResult } from './tokenizer.js';
export { lineStarts, tokenOffset } from './source.js';
export { parseSql, translateQuery, translateTokens } from './translate.js';
export { splitStatements, withEnd } from './splitter.js';
export type { StatementType, TableRef, TranslateContext, Translation } from './translate.js';
export { SUPPORTED_FUNCTIONS } from './functions.js';
export { aliasOf } from './resolve.js';
export type { TableRead } from './resolve.js';
export { columnsRead } from './columnsRead.js';
export type { ColumnsRead } from './columnsRead.js';
export { partitionPredicate } from './partitionPruning.js';
export type { Partitioning } from './partitionPruning.js';

/**
 * The GoogleSQL → DuckDB SQL pipeline: tokenizer, bracket tree, translator,
 * function allow-list and the runtime checks it emits. The only entry the
 * rest of the endpoint imports; the HTTP, job, catalog and DDL layers see
 * tokens and translations, never the tree or the translator's internals.
 */
export { tokenize } from './tokenizer.js';
export type { Token, TokenKind, TokenizeResult } from './tokenizer.js';
export { lineStarts, tokenOffset } from './source.js';
export { translateQuery } from './translate.js';
export type { StatementType, TableRef, TranslateContext, Translation } from './translate.js';
export { SUPPORTED_FUNCTIONS } from './functions.js';

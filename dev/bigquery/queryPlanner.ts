/**
 * The query planner: a query configuration becomes either one translated
 * statement with its bound parameters or a script plan (`scripts.ts`), after
 * the checks BigQuery makes before running anything — query text, legacy SQL,
 * tables that exist, partition filters, parameters.
 */
import { VARCHAR } from '@duckdb/node-api';
import type { DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { jsonArrayParam, replacePlaceholders } from './bulkParams.js';
import type { Catalog } from './catalog.js';
import { invalid, invalidQuery, notFound } from './errors.js';
import { checkPartitionFilters } from './partitionFilter.js';
import { isScript, planScript } from './scripts.js';
import type { ScriptPlan } from './scripts.js';
import { translateQuery } from './sql/index.js';
import type { TableRef, TranslateContext, Translation } from './sql/index.js';
import { paramToDuck, ValueError } from './values.js';
import type { ParamType, ParamValue } from './values.js';

/** A query parameter as the REST API sends it. */
export interface QueryParameter {
  name?: string;
  parameterType: ParamType;
  parameterValue?: ParamValue;
}

/** The part of `JobConfigurationQuery` / `QueryRequest` the endpoint reads. */
export interface QueryConfig {
  query?: string;
  useLegacySql?: boolean;
  parameterMode?: string;
  queryParameters?: QueryParameter[];
  defaultDataset?: { datasetId: string; projectId?: string };
  maximumBytesBilled?: string;
  destinationTable?: unknown;
  [k: string]: unknown;
}

/** What a query job runs. */
export type QueryPlan =
  | { kind: 'script'; plan: ScriptPlan; statementType: string }
  | { kind: 'statement'; translation: Translation; values: DuckDBValue[]; types: DuckDBType[] };

/**
 * Plans `config` for a job in `projectId`.
 *
 * @throws BigQueryApiError what BigQuery reports before running: missing query, legacy SQL, syntax and
 * unsupported constructs, missing tables (404), missing partition filters, bad parameters
 */
export function planQuery(config: QueryConfig, projectId: string, endpointProjectId: string, catalog: Catalog): QueryPlan {
  if (typeof config.query !== 'string' || config.query.trim() === '') throw invalid('Query text is required', 'query');
  if (config.useLegacySql === true) throw invalidQuery('Unsupported by the local BigQuery endpoint: legacy SQL (set useLegacySql: false)');
  if (config.destinationTable) throw invalid('Unsupported by the local BigQuery endpoint: destinationTable');
  const ctx: TranslateContext = { projectId: endpointProjectId, requestProjectId: projectId };
  if (config.defaultDataset?.datasetId) ctx.defaultDataset = config.defaultDataset;
  if (isScript(config.query)) {
    const plan = planScript(config.query, ctx);
    // Parameters are checked before anything runs (BigQuery validates the whole script first).
    for (const step of plan.steps) {
      if (step.kind === 'query') bindParameters(step.translation, config);
      if (step.kind === 'ddl' && step.params) bindParameters(step.params, config);
    }
    return { kind: 'script', plan, statementType: plan.statementType };
  }
  const translation = translateQuery(config.query, ctx);
  checkTables(catalog, projectId, translation.tables);
  const bound = bindParameters(translation, config);
  return { kind: 'statement', translation: { ...translation, sql: bound.sql }, values: bound.values, types: bound.types };
}

/**
 * Tables must exist before running: BigQuery answers 404 notFound, not a SQL error.
 * Then a table with `require_partition_filter` must be read with a partition filter (400).
 */
export function checkTables(catalog: Catalog, projectId: string, tables: TableRef[]): void {
  for (const t of tables) {
    if (!catalog.hasDataset(t.datasetId)) throw notFound(`Dataset ${t.projectId || projectId}:${t.datasetId} was not found in location US`);
    if (!catalog.findTable(t.datasetId, t.tableId)) throw notFound(`Table ${t.projectId || projectId}:${t.datasetId}.${t.tableId} was not found in location US`);
  }
  checkPartitionFilters(tables, (d, t) => catalog.findTable(d, t));
}

/**
 * Turns `queryParameters` into positional DuckDB values for `$1..$n`. Large
 * ARRAY<STRUCT> parameters are bound as JSON text (bulkParams.ts), which
 * rewrites their placeholders: run the returned `sql`, not `t.sql`.
 */
export function bindParameters(t: Translation, config: QueryConfig): { values: DuckDBValue[]; types: DuckDBType[]; sql: string } {
  const params = config.queryParameters ?? [];
  const mode = (config.parameterMode ?? (params.some((p) => p.name) ? 'NAMED' : params.length ? 'POSITIONAL' : '')).toUpperCase();
  const values: DuckDBValue[] = [];
  const types: DuckDBType[] = [];
  const replacements = new Map<number, string>();
  const convert = (p: QueryParameter, where: string): void => {
    const fast = jsonArrayParam(p.parameterType, p.parameterValue);
    if (fast) {
      values.push(fast.json);
      types.push(VARCHAR);
      replacements.set(values.length, fast.placeholderSql(values.length));
      return;
    }
    try {
      const b = paramToDuck(p.parameterType, p.parameterValue, where);
      values.push(b.value);
      types.push(b.type);
    } catch (err) {
      if (err instanceof ValueError) throw invalidQuery(`Invalid value for query parameter ${where}: ${err.message}`, where);
      throw err;
    }
  };
  if (t.namedParams.length > 0) {
    if (mode === 'POSITIONAL') throw invalidQuery('Named query parameters (@name) cannot be used with parameterMode POSITIONAL');
    const byName = new Map(params.filter((p) => p.name).map((p) => [(p.name as string).toLowerCase(), p]));
    for (const name of t.namedParams) {
      const p = byName.get(name);
      if (!p) throw invalidQuery(`Query parameter '${name}' not found`);
      convert(p, name);
    }
  } else if (t.positionalCount > 0) {
    if (mode === 'NAMED') throw invalidQuery('Positional query parameters (?) cannot be used with parameterMode NAMED');
    if (params.length < t.positionalCount) throw invalidQuery(`Query has ${t.positionalCount} positional parameters but ${params.length} were provided`);
    params.slice(0, t.positionalCount).forEach((p, i) => convert(p, `#${i + 1}`));
  }
  return { values, types, sql: replacements.size > 0 ? replacePlaceholders(t.sql, replacements) : t.sql };
}


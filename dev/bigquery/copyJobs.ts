/**
 * Copy jobs (`jobs.insert` with `configuration.copy`, the client's
 * `table.copy()` / `createCopyJob()`), with BigQuery's dispositions:
 *
 * - `createDisposition`: `CREATE_IF_NEEDED` (default) creates a missing
 *   destination with the source's schema, time partitioning, clustering and
 *   `requirePartitionFilter`; `CREATE_NEVER` answers 404 for a missing one.
 * - `writeDisposition`: `WRITE_EMPTY` (default) refuses a destination that
 *   holds rows (409 `duplicate`, as BigQuery); `WRITE_TRUNCATE` replaces its
 *   rows, schema, partitioning and clustering with the source's (its
 *   description, labels and friendly name stay); `WRITE_APPEND` adds the rows
 *   and needs an identical schema.
 * - Several `sourceTables` need identical schemas. `operationType` `COPY`
 *   (default) and `CLONE` are supported (a clone is a full copy locally);
 *   `SNAPSHOT` and `RESTORE` are rejected as unsupported.
 *
 * The whole copy (DuckDB DDL, rows, metadata) is one DuckDB transaction under
 * the destination's write lock.
 */
import { createTableSql, now } from './catalog.js';
import type { Catalog, TableMeta } from './catalog.js';
import type { Engine } from './engine.js';
import { duplicate, invalid, notFound } from './errors.js';
import { tableLogicalBytes } from './tableBytes.js';
import type { TranslateContext } from './sql/index.js';
import { quoteIdent } from './types.js';

/** A table reference as the REST API sends it. */
interface RestTableRef {
  projectId?: string;
  datasetId?: string;
  tableId?: string;
}

/** `JobConfigurationTableCopy` (the fields the endpoint reads). */
export interface CopyConfig {
  sourceTable?: RestTableRef;
  sourceTables?: RestTableRef[];
  destinationTable?: RestTableRef;
  createDisposition?: string;
  writeDisposition?: string;
  operationType?: string;
}

/** `statistics.copy` of a finished copy job. */
export interface CopyOutcome {
  copiedRows: number;
  copiedLogicalBytes: number;
}

function sqlName(meta: { datasetId: string; tableId: string }): string {
  return `${quoteIdent(meta.datasetId)}.${quoteIdent(meta.tableId)}`;
}

function schemaKey(meta: TableMeta): string {
  return JSON.stringify(meta.schema.fields.map((f) => [f.name.toLowerCase(), f.type, f.mode ?? 'NULLABLE', JSON.stringify(f.fields ?? null)]));
}

/** Runs a copy job; resolves with its statistics or rejects with a BigQuery error. */
export async function runCopyJob(engine: Engine, catalog: Catalog, ctx: TranslateContext, cfg: CopyConfig | undefined): Promise<CopyOutcome> {
  const projectOf = (r: RestTableRef): string => r.projectId ?? ctx.requestProjectId ?? ctx.projectId;
  const check = (r: RestTableRef | undefined, what: string): Required<RestTableRef> => {
    if (!r?.datasetId || !r.tableId) throw invalid(`${what} is required`, what);
    const projectId = projectOf(r);
    if (projectId !== ctx.projectId && projectId !== ctx.requestProjectId) throw notFound(`Dataset ${projectId}:${r.datasetId}`);
    return { projectId, datasetId: r.datasetId, tableId: r.tableId };
  };
  const op = (cfg?.operationType ?? 'COPY').toUpperCase();
  if (op !== 'COPY' && op !== 'CLONE' && op !== 'OPERATION_TYPE_UNSPECIFIED') {
    throw invalid(`Unsupported by the local BigQuery endpoint: copy operationType ${op}`);
  }
  const sourceRefs = (cfg?.sourceTables && cfg.sourceTables.length > 0 ? cfg.sourceTables : [cfg?.sourceTable]).map((r) => check(r, 'sourceTable'));
  const dest = check(cfg?.destinationTable, 'destinationTable');
  const sources = sourceRefs.map((r) => {
    if (!catalog.hasDataset(r.datasetId)) throw notFound(`Dataset ${r.projectId}:${r.datasetId}`);
    const meta = catalog.findTable(r.datasetId, r.tableId);
    if (!meta) throw notFound(`Table ${r.projectId}:${r.datasetId}.${r.tableId}`);
    return meta;
  });
  const first = sources[0] as TableMeta;
  if (sources.some((s) => schemaKey(s) !== schemaKey(first))) throw invalid('Incompatible table schemas: all source tables of a copy job must have the same schema');
  const create = (cfg?.createDisposition ?? 'CREATE_IF_NEEDED').toUpperCase();
  const write = (cfg?.writeDisposition ?? 'WRITE_EMPTY').toUpperCase();
  if (!['CREATE_IF_NEEDED', 'CREATE_NEVER'].includes(create)) throw invalid(`Invalid createDisposition: ${create}`, 'createDisposition');
  if (!['WRITE_EMPTY', 'WRITE_TRUNCATE', 'WRITE_APPEND'].includes(write)) throw invalid(`Invalid writeDisposition: ${write}`, 'writeDisposition');
  if (!catalog.hasDataset(dest.datasetId)) throw notFound(`Dataset ${dest.projectId}:${dest.datasetId}`);
  const destFqn = `${dest.projectId}:${dest.datasetId}.${dest.tableId}`;
  if (sources.some((s) => s.datasetId === dest.datasetId && s.tableId === dest.tableId)) throw invalid('The source and destination tables of a copy job must differ');

  return engine.withLocks([`${dest.datasetId}.${dest.tableId}`], () =>
    engine.with(async (conn) => {
      const existing = catalog.findTable(dest.datasetId, dest.tableId);
      if (!existing && create === 'CREATE_NEVER') throw notFound(`Table ${destFqn}`);
      if (existing && write === 'WRITE_EMPTY') {
        const r = await conn.runAndReadAll(`SELECT count(*) FROM ${sqlName(existing)}`);
        if (Number(r.getRows()[0]?.[0] ?? 0) > 0) throw duplicate(`Table ${destFqn}`);
      }
      if (existing && write !== 'WRITE_TRUNCATE' && schemaKey(existing) !== schemaKey(first)) {
        throw invalid(`Provided Schema does not match Table ${destFqn}`);
      }
      const t = now();
      let meta: TableMeta;
      const recreate = !existing || write === 'WRITE_TRUNCATE';
      if (recreate) {
        meta = { datasetId: dest.datasetId, tableId: dest.tableId, schema: structuredClone(first.schema), creationTime: existing?.creationTime ?? t, lastModifiedTime: t };
        for (const k of ['description', 'friendlyName', 'labels'] as const) {
          if (existing?.[k] !== undefined) (meta as unknown as Record<string, unknown>)[k] = existing[k];
        }
        if (first.timePartitioning) meta.timePartitioning = structuredClone(first.timePartitioning);
        if (first.rangePartitioning) meta.rangePartitioning = structuredClone(first.rangePartitioning);
        if (first.clustering) meta.clustering = structuredClone(first.clustering);
        if (first.requirePartitionFilter !== undefined) meta.requirePartitionFilter = first.requirePartitionFilter;
      } else {
        meta = { ...(existing), lastModifiedTime: t };
      }
      let copiedRows = 0;
      await conn.run('BEGIN TRANSACTION');
      try {
        if (recreate) {
          if (existing) await conn.run(`DROP TABLE ${sqlName(existing)}`);
          await conn.run(createTableSql(dest.datasetId, dest.tableId, meta.schema));
        }
        const cols = meta.schema.fields.map((f) => quoteIdent(f.name)).join(', ');
        for (const s of sources) {
          const r = await conn.run(`INSERT INTO ${sqlName(dest)} (${cols}) SELECT ${cols} FROM ${sqlName(s)}`);
          copiedRows += Number(r.rowsChanged);
        }
        await catalog.writeTableMeta(conn, dest.datasetId, dest.tableId, meta);
        await conn.run('COMMIT');
      } catch (err) {
        await conn.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
      catalog.setTableMeta(dest.datasetId, dest.tableId, meta);
      let copiedLogicalBytes = 0;
      for (const s of sources) copiedLogicalBytes += await tableLogicalBytes(conn, s);
      return { copiedRows, copiedLogicalBytes };
    }),
  );
}

/**
 * Multi-statement queries (BigQuery "scripts") and transactions.
 *
 * A query with more than one statement, or a single DDL / transaction
 * statement, is planned here: the text is cut at top-level `;`, each
 * statement is translated up front (so a syntax error or an unsupported
 * construct anywhere fails the job before anything runs) and the script runs
 * on one DuckDB connection:
 *
 * - `BEGIN [TRANSACTION]` … `COMMIT [TRANSACTION]` / `ROLLBACK [TRANSACTION]` map
 *   onto a DuckDB transaction. When a statement inside fails, the transaction
 *   is rolled back and the job fails with that statement's error; a
 *   transaction still open at the end of the script is rolled back and the job
 *   fails, as in BigQuery. A process killed mid-transaction leaves nothing of
 *   it (DuckDB never commits a partial transaction to its WAL).
 * - Statements outside a transaction commit one by one (BigQuery's behaviour:
 *   earlier statements of a failed script stay done).
 * - Named query parameters are shared by all statements.
 * - The tables the script writes are write-locked (engine locks) for the
 *   whole script. A script that writes a table only inside transactions holds
 *   it beside other such scripts, so their transactions overlap as they do in
 *   BigQuery, and a transaction whose table another transaction committed to
 *   since its BEGIN is aborted at its COMMIT with BigQuery's "Transaction is
 *   aborted due to concurrent update" (`transactions.ts`). Any other writer
 *   (a write outside a transaction) has the table to itself: it waits for the
 *   transactions on it, as BigQuery queues DML behind a transaction.
 * - DDL on permanent tables inside a transaction is rejected, as BigQuery does.
 *
 * Each executed statement is also recorded as a child job (BigQuery lists
 * them with `jobs.list?parentJobId=`), carrying its own
 * `numDmlAffectedRows` / `dmlStats` / DDL statistics. The script's results are
 * those of its last SELECT (none when it has no SELECT).
 */
import type { DuckDBConnection, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import type { Catalog } from './catalog.js';
import { dmlOutcome } from './dmlOutcome.js';
import { ddlReads, ddlWrites, isDdl, parseDdl, runDdl } from './ddl.js';
import type { DdlOutcome, DdlStatement } from './ddl.js';
import type { Engine, LockMode } from './engine.js';
import { BigQueryApiError, invalidQuery, unsupported } from './errors.js';
import { lineStarts, splitStatements, tokenOffset, tokenize, translateTokens, withEnd } from './sql/index.js';
import type { TableRef, Token, TranslateContext, Translation } from './sql/index.js';
import { concurrentUpdateError, isEngineConflict, type OpenTransaction } from './transactions.js';
import { duckTypeToBqField } from './types.js';
import type { BqField } from './types.js';

/** Where a statement sits in the script text (BigQuery's `scriptStatistics.stackFrames`). */
export interface StatementSpan {
  startLine: number;
  startColumn: number;
  endLine: number;
  endColumn: number;
  text: string;
}

/** One statement of a planned script. */
export type ScriptStep = StatementSpan &
  (
    | { kind: 'begin' | 'commit' | 'rollback' }
    | { kind: 'query'; translation: Translation }
    | { kind: 'ddl'; ddl: DdlStatement; params: Translation | undefined }
  );

/** A planned script. */
export interface ScriptPlan {
  steps: ScriptStep[];
  /** Lock keys (`dataset.table`) of every table the script writes. */
  writes: string[];
  /** Every table the script reads or writes. */
  tables: TableRef[];
  /** The job's `statementType`: `SCRIPT`, or the single DDL statement's type. */
  statementType: string;
}

/** Result of one executed statement, for the child job and the script result. */
export interface StepResult {
  step: ScriptStep;
  statementType: string;
  startTime: number;
  endTime: number;
  fields?: BqField[];
  rows?: DuckDBValue[][];
  numDmlAffectedRows?: number;
  dmlStats?: Record<string, string>;
  ddl?: DdlOutcome;
  error?: BigQueryApiError;
}

/** What the script runner needs from the job manager. */
export interface ScriptHost {
  engine: Engine;
  catalog: Catalog;
  projectId: string;
  /** 404 for tables/datasets that do not exist (checked just before each statement runs). */
  checkTables(tables: TableRef[]): void;
  /** Binds the job's query parameters for one translated statement. */
  bind(t: Translation): { values: DuckDBValue[]; types: DuckDBType[]; sql: string };
  /** The job's stop error once cancelled or timed out. */
  stopped(): BigQueryApiError | undefined;
  /** The connection running the script (for interrupts); `undefined` when done. */
  setConnection(conn: DuckDBConnection | undefined): void;
  /** Called after every executed statement (child jobs). */
  onStatement(r: StepResult): void;
}

/** Result of a whole script: its last SELECT's rows. */
export interface ScriptResult {
  fields: BqField[];
  rows: DuckDBValue[][];
  /** Set when the script is a single DDL statement. */
  ddl?: DdlOutcome;
}

const TX_WORDS = new Set(['BEGIN', 'COMMIT', 'ROLLBACK']);

/**
 * True when `sql` must run as a script: several statements, or one DDL or
 * transaction statement. Single SELECT/DML statements keep the plain path.
 * Never throws: tokenizer errors are reported by whichever path runs.
 */
export function isScript(sql: string): boolean {
  let tokens: Token[];
  try {
    tokens = tokenize(sql).tokens;
  } catch {
    return false;
  }
  const statements = splitStatements(tokens);
  if (statements.length > 1) return true;
  const first = statements[0]?.[0];
  return first !== undefined && first.kind === 'ident' && (TX_WORDS.has(first.text.toUpperCase()) || isDdl(statements[0] as Token[]));
}

/**
 * Plans a script: cuts, classifies and translates every statement.
 *
 * @throws BigQueryApiError `invalidQuery` for any statement that does not translate.
 */
export function planScript(sql: string, ctx: TranslateContext): ScriptPlan {
  const { tokens, dialectMarker } = tokenize(sql);
  if (dialectMarker && dialectMarker.toLowerCase() === 'legacysql') throw unsupported('legacy SQL (#legacySQL)');
  const starts = lineStarts(sql);
  const steps: ScriptStep[] = [];
  const writes = new Map<string, TableRef>();
  const tables = new Map<string, TableRef>();
  const note = (map: Map<string, TableRef>, refs: TableRef[]): void => {
    for (const r of refs) map.set(`${r.datasetId}.${r.tableId}`.toLowerCase(), r);
  };
  for (const stmt of splitStatements(tokens)) {
    const first = stmt[0] as Token;
    const last = stmt[stmt.length - 1] as Token;
    const from = tokenOffset(starts, first);
    const to = tokenOffset(starts, last) + last.text.length;
    const text = sql.slice(from, to);
    const lastLines = last.text.split('\n');
    const span: StatementSpan = {
      startLine: first.line,
      startColumn: first.col,
      endLine: last.line + lastLines.length - 1,
      endColumn: lastLines.length > 1 ? (lastLines[lastLines.length - 1] as string).length : last.col + last.text.length - 1,
      text,
    };
    const word = first.kind === 'ident' ? first.text.toUpperCase() : '';
    if (TX_WORDS.has(word)) {
      const rest = stmt.slice(1).map((t) => t.text.toUpperCase());
      if (rest.length > 1 || (rest.length === 1 && rest[0] !== 'TRANSACTION')) {
        if (word === 'BEGIN') throw unsupported('BEGIN … END blocks (only BEGIN TRANSACTION)');
        throw invalidQuery(`Syntax error: Expected end of statement after ${word} TRANSACTION at [${first.line}:${first.col}]`);
      }
      steps.push({ ...span, kind: word.toLowerCase() as 'begin' | 'commit' | 'rollback' });
    } else if (isDdl(stmt)) {
      const ddl = parseDdl(stmt, ctx);
      steps.push({ ...span, kind: 'ddl', ddl, params: ddl.kind === 'create' ? ddl.query : undefined });
      note(writes, ddlWrites(ddl));
      note(tables, ddlReads(ddl));
    } else {
      const translation = translateTokens(withEnd(stmt), ctx);
      steps.push({ ...span, kind: 'query', translation });
      if (translation.dmlTarget) note(writes, [translation.dmlTarget]);
      note(tables, translation.tables);
    }
  }
  if (steps.length === 0) throw invalidQuery('Syntax error: Unexpected end of script at [1:1]');
  // Each statement would count its `?` from the first parameter again; BigQuery scripts take named parameters.
  if (steps.length > 1 && steps.some((s) => (s.kind === 'query' ? s.translation : s.kind === 'ddl' ? s.params : undefined)?.positionalCount)) {
    throw unsupported('positional (?) parameters in multi-statement queries (use named @parameters)');
  }
  const only = steps.length === 1 ? steps[0] : undefined;
  let statementType = 'SCRIPT';
  if (only?.kind === 'ddl') statementType = only.ddl.statementType;
  else if (only) statementType = 'SCRIPT';
  return { steps, writes: [...writes.keys()], tables: [...tables.values()], statementType };
}

/**
 * `transaction` when every write of the script is inside BEGIN … COMMIT/ROLLBACK (its
 * tables may be held beside other transactions), `exclusive` otherwise.
 */
function lockModeOf(steps: ScriptStep[]): LockMode {
  let inTx = false;
  for (const step of steps) {
    if (step.kind === 'begin') inTx = true;
    else if (step.kind === 'commit' || step.kind === 'rollback') inTx = false;
    else if (!inTx && (step.kind === 'ddl' || (step.kind === 'query' && step.translation.dmlTarget !== undefined))) return 'exclusive';
  }
  return 'transaction';
}

/** Runs a planned script (see the module comment for the semantics). */
export async function runScript(plan: ScriptPlan, host: ScriptHost): Promise<ScriptResult> {
  const ledger = host.engine.transactions;
  return host.engine.withLocks(plan.writes, async () => {
    const conn = await host.engine.acquire();
    host.setConnection(conn);
    let inTx = false;
    let tx: OpenTransaction | undefined;
    let result: ScriptResult = { fields: [], rows: [] };
    try {
      for (const step of plan.steps) {
        const stop = host.stopped();
        if (stop) throw stop;
        const startTime = Date.now();
        const record = (r: Omit<StepResult, 'step' | 'startTime' | 'endTime'>): void => host.onStatement({ ...r, step, startTime, endTime: Date.now() });
        try {
          if (step.kind === 'begin') {
            if (inTx) throw invalidQuery(`Nested transactions are not supported at [${step.startLine}:${step.startColumn}]`);
            await conn.run('BEGIN TRANSACTION');
            inTx = true;
            tx = ledger.begin();
            record({ statementType: 'BEGIN_TRANSACTION' });
          } else if (step.kind === 'commit' || step.kind === 'rollback') {
            const what = step.kind === 'commit' ? 'COMMIT' : 'ROLLBACK';
            if (!inTx) throw invalidQuery(`${what} TRANSACTION without an active transaction at [${step.startLine}:${step.startColumn}]`);
            if (step.kind === 'commit' && tx !== undefined) {
              // Judged before DuckDB commits: the later of two conflicting transactions loses (the finally rolls it back).
              const conflict = ledger.commit(tx);
              if (conflict !== undefined) throw concurrentUpdateError(host.projectId, conflict, tx, step.startLine, step.startColumn);
            }
            await conn.run(what);
            inTx = false;
            if (tx !== undefined) ledger.end(tx);
            tx = undefined;
            record({ statementType: `${what}_TRANSACTION` });
          } else if (step.kind === 'ddl') {
            if (inTx) throw invalidQuery(`${step.ddl.statementType.replace(/_/g, ' ')} statements are not supported inside a transaction at [${step.startLine}:${step.startColumn}]`);
            host.checkTables(ddlReads(step.ddl));
            const params = step.params ? host.bind(step.params) : { values: [], types: [] };
            const ddl = await runDdl(conn, host.catalog, host.projectId, step.ddl, params);
            record({ statementType: step.ddl.statementType, ddl });
            if (plan.steps.length === 1) result = { fields: [], rows: [], ddl };
          } else {
            const t = (step as Extract<ScriptStep, { kind: 'query' }>).translation;
            host.checkTables(t.tables);
            const { values, types, sql } = host.bind(t);
            const reader = await conn.runAndReadAll(sql, values, types);
            if (t.statementType === 'SELECT') {
              const fields = reader.columnTypes().map((ty, i) => duckTypeToBqField(reader.columnNames()[i] as string, ty));
              result = { fields, rows: reader.getRows() };
              record({ statementType: 'SELECT', fields, rows: result.rows });
            } else {
              if (t.dmlTarget) host.catalog.touch(t.dmlTarget.datasetId, t.dmlTarget.tableId);
              if (t.dmlTarget && tx !== undefined) ledger.wrote(tx, t.dmlTarget, t.statementType);
              record({ statementType: t.statementType, ...dmlOutcome(t.statementType, reader) });
            }
          }
        } catch (err) {
          const stopErr = host.stopped();
          const target = 'translation' in step ? step.translation.dmlTarget : undefined;
          const conflict = tx !== undefined && target !== undefined && isEngineConflict(err) ? concurrentUpdateError(host.projectId, target, tx, step.startLine, step.startColumn) : undefined;
          const apiErr =
            stopErr ?? conflict ?? (err instanceof BigQueryApiError ? err : invalidQuery(`${err instanceof Error ? err.message : String(err)} at [${step.startLine}:${step.startColumn}]`));
          record({ statementType: 'translation' in step ? step.translation.statementType : step.kind === 'ddl' ? step.ddl.statementType : step.kind.toUpperCase(), error: apiErr });
          throw apiErr;
        }
      }
      if (inTx) {
        throw invalidQuery('Transaction was not committed or rolled back at the end of the script; it has been rolled back');
      }
      return result;
    } finally {
      if (inTx) await conn.run('ROLLBACK').catch(() => undefined);
      if (tx !== undefined) ledger.end(tx);
      host.setConnection(undefined);
      host.engine.release(conn);
    }
  }, lockModeOf(plan.steps));
}

/**
 * The query executor: runs a planned query job — one statement, or a script
 * with a child job per statement — or its dry run, on pooled DuckDB
 * connections, and settles the job through the manager's `finish`.
 */
import { randomUUID } from 'node:crypto';
import type { DuckDBType, DuckDBValue } from '@duckdb/node-api';
import type { Catalog } from './catalog.js';
import { dmlOutcome } from './dmlOutcome.js';
import type { Engine } from './engine.js';
import { fromEngineError } from './engineErrors.js';
import { BigQueryApiError, invalidQuery } from './errors.js';
import type { Job, JobResult, JobStats, JobStore } from './jobStore.js';
import { bindParameters, checkTables } from './queryPlanner.js';
import type { QueryConfig } from './queryPlanner.js';
import { runScript } from './scripts.js';
import type { ScriptPlan, StepResult } from './scripts.js';
import type { Translation } from './sql/index.js';
import { statementBytes } from './statementBytes.js';
import { duckTypeToBqField } from './types.js';
import type { BqField } from './types.js';
import { nullArrayElementColumn, ValueError } from './values.js';

/** Runs planned jobs; the manager owns their creation, stopping and settling. */
export class QueryExecutor {
  constructor(
    private readonly engine: Engine,
    private readonly catalog: Catalog,
    private readonly store: JobStore,
    private readonly counters: JobStats,
    private readonly finish: (job: Job, error?: BigQueryApiError) => void,
  ) {}

  /** A dry run: DuckDB prepares the statement (its schema), the tree gives the bytes (statementBytes.ts). */
  async dryRun(job: Job, t: Translation, values: DuckDBValue[], types: DuckDBType[]): Promise<void> {
    try {
      await this.engine.with(async (conn) => {
        const prepared = await conn.prepare(t.sql);
        try {
          if (t.statementType === 'SELECT') {
            const fields: BqField[] = [];
            for (let i = 0; i < prepared.columnCount; i++) fields.push(duckTypeToBqField(prepared.columnName(i), prepared.columnType(i)));
            job.dryRunSchema = fields;
          } else job.dryRunSchema = [];
          job.bytesProcessed = await statementBytes(conn, this.catalog, t, values, types);
        } finally {
          prepared.destroySync();
        }
      });
      this.finish(job);
    } catch (err) {
      this.finish(job, asQueryError(err));
    }
  }

  /** Runs one statement on its own pooled connection, under its DML target's write lock. */
  async execute(job: Job, t: Translation, values: DuckDBValue[], types: DuckDBType[]): Promise<void> {
    this.counters.jobsRunning++;
    // Lock order is always table lock → connection (insertAll does the same), so writers cannot deadlock on the pool.
    const body = async (): Promise<JobResult> => {
      const conn = await this.engine.acquire();
      try {
        if (job.stopReason) throw stopError(job);
        job.state = 'RUNNING';
        job.startTime = Date.now();
        job.conn = conn;
        const reader = await conn.runAndReadAll(t.sql, values, types);
        if (t.statementType !== 'SELECT') return { fields: [], rows: [], ...dmlOutcome(t.statementType, reader) };
        const names = dedupeNames(reader.columnNames());
        const fields = reader.columnTypes().map((ty, i) => duckTypeToBqField(names[i] as string, ty));
        const rows = reader.getRows();
        const nullElement = nullArrayElementColumn(names, rows);
        if (nullElement !== undefined) throw invalidQuery(`Array cannot have a null element; error in writing field ${nullElement}`);
        return { fields, rows };
      } finally {
        job.conn = undefined;
        this.engine.release(conn);
      }
    };
    try {
      const target = t.dmlTarget;
      const result = target ? await this.engine.withLocks([`${target.datasetId}.${target.tableId}`], body) : await body();
      if (target) this.catalog.touch(target.datasetId, target.tableId);
      job.result = result;
      this.finish(job);
    } catch (err) {
      this.finish(job, job.stopReason ? stopError(job) : asQueryError(err));
    } finally {
      this.counters.jobsRunning--;
    }
  }

  /** Dry run of a script: validated at planning; bytes are the sum of its statements' (a CTAS counts its query). */
  async dryRunScript(job: Job, plan: ScriptPlan, config: QueryConfig): Promise<void> {
    try {
      job.dryRunSchema = [];
      job.bytesProcessed = await this.engine.with(async (conn) => {
        let total = 0;
        for (const step of plan.steps) {
          const t = step.kind === 'query' ? step.translation : step.kind === 'ddl' ? step.params : undefined;
          if (!t) continue;
          const { values, types } = bindParameters(t, config);
          total += await statementBytes(conn, this.catalog, t, values, types);
        }
        return total;
      });
      this.finish(job);
    } catch (err) {
      this.finish(job, asQueryError(err));
    }
  }

  /** Runs a script (scripts.ts), recording one child job per executed statement. */
  async executeScript(job: Job, plan: ScriptPlan, config: QueryConfig): Promise<void> {
    this.counters.jobsRunning++;
    job.state = 'RUNNING';
    job.startTime = Date.now();
    let children = 0;
    const isScriptJob = job.statementType === 'SCRIPT';
    try {
      const result = await runScript(plan, {
        engine: this.engine,
        catalog: this.catalog,
        projectId: job.projectId,
        checkTables: (tables) => checkTables(this.catalog, job.projectId, tables),
        bind: (t) => bindParameters(t, config),
        stopped: () => (job.stopReason ? stopError(job) : undefined),
        setConnection: (conn) => {
          job.conn = conn;
        },
        onStatement: (r) => {
          if (!isScriptJob) return;
          this.childJob(job, r, children++);
        },
      });
      job.result = result;
      if (isScriptJob) job.numChildJobs = children;
      this.finish(job);
    } catch (err) {
      if (isScriptJob) job.numChildJobs = children;
      this.finish(job, job.stopReason ? stopError(job) : asQueryError(err));
    } finally {
      this.counters.jobsRunning--;
    }
  }

  /** Remembers one executed statement of a script as a finished child job. */
  private childJob(parent: Job, r: StepResult, index: number): void {
    let markDone!: () => void;
    const done = new Promise<void>((res) => (markDone = res));
    const child: Job = {
      projectId: parent.projectId,
      jobId: `script_job_${randomUUID().replace(/-/g, '')}_${index}`,
      location: parent.location,
      state: 'DONE',
      configuration: { jobType: 'QUERY', query: { query: r.step.text, useLegacySql: false, priority: 'INTERACTIVE' } },
      statementType: r.statementType,
      creationTime: r.startTime,
      startTime: r.startTime,
      endTime: r.endTime,
      done,
      markDone,
      parentJobId: parent.jobId,
      scriptStatistics: {
        evaluationKind: 'STATEMENT',
        stackFrames: [{ startLine: r.step.startLine, startColumn: r.step.startColumn, endLine: r.step.endLine, endColumn: r.step.endColumn, text: r.step.text }],
      },
    };
    const result: JobResult = { fields: r.fields ?? [], rows: r.rows ?? [] };
    if (r.numDmlAffectedRows !== undefined) result.numDmlAffectedRows = r.numDmlAffectedRows;
    if (r.dmlStats !== undefined) result.dmlStats = r.dmlStats;
    if (r.ddl) result.ddl = r.ddl;
    child.result = result;
    if (r.error) child.error = r.error;
    markDone();
    this.store.add(child);
  }
}

/** DuckDB result column names made unique like BigQuery (`a`, `a_1`). */
function dedupeNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((n) => {
    const key = n.toLowerCase();
    const count = seen.get(key) ?? 0;
    seen.set(key, count + 1);
    return count === 0 ? n : `${n}_${count}`;
  });
}

/** The error a stopped job ends with (timeout or cancel). */
export function stopError(job: Job): BigQueryApiError {
  if (job.stopReason === 'timeout') {
    const secs = (job.jobTimeoutMs ?? 0) / 1000;
    return new BigQueryApiError(400, 'timeout', `Job timed out after ${secs}s. Job execution was cancelled: Job timed out (configuration.jobTimeoutMs=${job.jobTimeoutMs ?? 0}).`);
  }
  return new BigQueryApiError(400, 'stopped', 'Job execution was cancelled: User requested cancellation');
}

/** Maps DuckDB / validation errors onto BigQuery error reasons. */
export function asQueryError(err: unknown): BigQueryApiError {
  if (err instanceof BigQueryApiError) return err;
  if (err instanceof ValueError) return invalidQuery(err.message, err.location);
  // Engine text never reaches the client: it gets BigQuery's wording instead.
  return fromEngineError(err instanceof Error ? err.message : String(err));
}

/**
 * Query jobs: jobs.query, jobs.insert, jobs.getQueryResults, jobs.get,
 * jobs.cancel, jobs.list, jobs.delete.
 *
 * Every query — even a synchronous jobs.query — becomes a job in a bounded
 * in-memory table, because the Node client fetches further pages and polls
 * status by job id. A job runs on its own pooled DuckDB connection so that
 * `jobTimeoutMs` and `jobs.cancel` can `interrupt()` exactly that query.
 */
import { randomUUID } from 'node:crypto';
import { VARCHAR } from '@duckdb/node-api';
import type { DuckDBConnection, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { jsonArrayParam, replacePlaceholders } from './bulkParams.js';
import type { Catalog } from './catalog.js';
import { stripUndefined } from './catalog.js';
import type { Engine } from './engine.js';
import { fromEngineError } from './engineErrors.js';
import { BigQueryApiError, duplicate, httpStatusForReason, invalid, invalidQuery, jobStatusErrors, notFound, toErrorProto } from './errors.js';
import type { ErrorProto } from './errors.js';
import { runCopyJob } from './copyJobs.js';
import type { CopyConfig, CopyOutcome } from './copyJobs.js';
import type { DdlOutcome } from './ddl.js';
import { loadStatistics, runLoadJob } from './loadJobs.js';
import type { LoadConfig, LoadOutcome } from './loadJobs.js';
import { checkPartitionFilters } from './partitionFilter.js';
import { isScript, planScript, runScript } from './scripts.js';
import type { ScriptPlan, StepResult } from './scripts.js';
import { tableLogicalBytes } from './tableBytes.js';
import { translateQuery } from './sql/index.js';
import type { TableRef, Translation } from './sql/index.js';
import { duckTypeToBqField } from './types.js';
import type { BqField } from './types.js';
import { encodeRow, nullArrayElementColumn, paramToDuck, ValueError } from './values.js';
import type { ParamType, ParamValue, TimestampFormat } from './values.js';

/** Most jobs remembered; older finished jobs (and their rows) are forgotten first. */
const MAX_JOBS = 500;
/** Rows per page when the caller gives no maxResults (BigQuery caps pages at ~10 MB; a row cap keeps responses small here). */
const DEFAULT_PAGE_ROWS = 20_000;
/** BigQuery's default wait of jobs.query / getQueryResults. */
const DEFAULT_WAIT_MS = 10_000;
/** Re-send interrupts while a stopped job is still running (an interrupt can race the query start). */
const INTERRUPT_RETRY_MS = 25;

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

type JobState = 'PENDING' | 'RUNNING' | 'DONE';

interface JobResult {
  fields: BqField[];
  rows: DuckDBValue[][];
  numDmlAffectedRows?: number;
  ddl?: DdlOutcome;
}

/** One job in the job table. */
export interface Job {
  projectId: string;
  jobId: string;
  location: string;
  state: JobState;
  configuration: Record<string, unknown>;
  statementType: string;
  creationTime: number;
  startTime?: number;
  endTime?: number;
  error?: BigQueryApiError;
  result?: JobResult;
  dryRunSchema?: BqField[];
  /** Dry-run estimate (see tableBytes.ts). */
  bytesProcessed?: number;
  /** Child jobs of a script point at their parent. */
  parentJobId?: string;
  scriptStatistics?: Record<string, unknown>;
  numChildJobs?: number;
  /** Copy jobs report `statistics.copy` instead of `statistics.query`. */
  copy?: CopyOutcome;
  /** Load jobs report `statistics.load` instead of `statistics.query`. */
  load?: LoadOutcome;
  /** Set when a timeout or cancel asks the job to stop; the first reason wins. */
  stopReason?: 'timeout' | 'stopped';
  jobTimeoutMs?: number;
  conn?: DuckDBConnection;
  done: Promise<void>;
  markDone: () => void;
  timer?: NodeJS.Timeout;
  interruptTimer?: NodeJS.Timeout;
}

/** Counters for {@link JobManager.stats}. */
export interface JobStats {
  jobsCreated: number;
  jobsRunning: number;
  jobsFailed: number;
  jobsTimedOut: number;
  jobsCancelled: number;
}

/** Paging/format options for result pages. */
export interface ResultOptions {
  maxResults?: number;
  pageToken?: string;
  startIndex?: number;
  timestampFormat: TimestampFormat;
}

/** Runs and remembers query jobs. */
export class JobManager {
  private readonly jobs = new Map<string, Job>();
  private readonly counters: JobStats = { jobsCreated: 0, jobsRunning: 0, jobsFailed: 0, jobsTimedOut: 0, jobsCancelled: 0 };

  constructor(
    private readonly engine: Engine,
    private readonly catalog: Catalog,
    private readonly endpointProjectId: string,
    private readonly baseUrl: () => string,
  ) {}

  /** Counters for the endpoint's stats(). */
  stats(): JobStats & { jobsRemembered: number } {
    return { ...this.counters, jobsRemembered: this.jobs.size };
  }

  // ---------------------------------------------------------------- REST handlers

  /** jobs.query: run synchronously up to `timeoutMs`, answering with the first page. */
  async query(projectId: string, body: Record<string, unknown>): Promise<unknown> {
    const labels = body.labels as Record<string, string> | undefined;
    const config: QueryConfig = {
      query: body.query as string,
      useLegacySql: body.useLegacySql as boolean | undefined,
      parameterMode: body.parameterMode as string | undefined,
      queryParameters: body.queryParameters as QueryParameter[] | undefined,
      defaultDataset: body.defaultDataset as QueryConfig['defaultDataset'],
      maximumBytesBilled: body.maximumBytesBilled as string | undefined,
    };
    const job = this.create(projectId, undefined, config, {
      labels,
      dryRun: body.dryRun === true,
      location: typeof body.location === 'string' ? body.location : undefined,
    });
    if (body.dryRun === true) {
      await job.done;
      if (job.error) throw job.error;
      return this.dryRunQueryResponse(job);
    }
    if (job.error) throw job.error;
    const waitMs = numberOr(body.timeoutMs, DEFAULT_WAIT_MS);
    await this.waitFor(job, waitMs);
    if (job.state !== 'DONE') return this.incompleteResponse(job);
    // Re-read through a call: TypeScript keeps the pre-await narrowing of job.error.
    throwIfFailed(job);
    const format = timestampFormatOf(body.formatOptions as Record<string, unknown> | undefined, false);
    const opts: ResultOptions = { timestampFormat: format };
    if (body.maxResults !== undefined) opts.maxResults = Number(body.maxResults);
    return this.resultsResponse(job, opts, 'bigquery#queryResponse');
  }

  /** jobs.insert: start a query job and answer immediately (a dry run answers once validated). */
  async insert(projectId: string, body: Record<string, unknown>): Promise<unknown> {
    const configuration = (body.configuration ?? {}) as Record<string, unknown>;
    const q = configuration.query as QueryConfig | undefined;
    if (!q && configuration.copy) return this.insertCopy(projectId, body, configuration);
    if (!q) {
      const kind = ['load', 'extract', 'copy'].find((k) => k in configuration) ?? 'unknown';
      throw invalid(`Unsupported by the local BigQuery endpoint: ${kind} jobs (only query, copy and uploaded load jobs are supported)`);
    }
    const ref = (body.jobReference ?? {}) as { jobId?: string; location?: string };
    if (ref.jobId && this.jobs.has(ref.jobId)) throw duplicate(`Job ${projectId}:${ref.location ?? 'US'}.${ref.jobId}`);
    const timeout = configuration.jobTimeoutMs !== undefined ? Number(configuration.jobTimeoutMs) : undefined;
    const job = this.create(projectId, ref.jobId, q, {
      labels: configuration.labels as Record<string, string> | undefined,
      dryRun: configuration.dryRun === true,
      jobTimeoutMs: timeout !== undefined && Number.isFinite(timeout) && timeout > 0 ? timeout : undefined,
      location: ref.location,
    });
    if (configuration.dryRun === true) await job.done;
    // Validation failures are reported as HTTP errors; the job stays visible to jobs.get.
    if (job.error) throw job.error;
    return this.jobResource(job);
  }

  /** jobs.getQueryResults */
  async getQueryResults(projectId: string, jobId: string, qs: URLSearchParams): Promise<unknown> {
    const job = this.requireJob(projectId, jobId);
    await this.waitFor(job, numberOr(qs.get('timeoutMs'), DEFAULT_WAIT_MS));
    if (job.state !== 'DONE') return this.incompleteResponse(job);
    if (job.error) throw job.error;
    const format = timestampFormatOf(
      { useInt64Timestamp: qs.get('formatOptions.useInt64Timestamp'), timestampOutputFormat: qs.get('formatOptions.timestampOutputFormat') },
      true,
    );
    const opts: ResultOptions = { timestampFormat: format };
    const maxResults = qs.get('maxResults');
    if (maxResults !== null) opts.maxResults = Number(maxResults);
    const pageToken = qs.get('pageToken');
    if (pageToken) opts.pageToken = pageToken;
    const startIndex = qs.get('startIndex');
    if (startIndex !== null) opts.startIndex = Number(startIndex);
    if (job.dryRunSchema) return this.dryRunQueryResponse(job);
    return this.resultsResponse(job, opts, 'bigquery#getQueryResultsResponse');
  }

  /** jobs.get */
  get(projectId: string, jobId: string): unknown {
    return this.jobResource(this.requireJob(projectId, jobId));
  }

  /** jobs.cancel: asks the job to stop; it ends DONE with reason `stopped`. */
  cancel(projectId: string, jobId: string): unknown {
    const job = this.requireJob(projectId, jobId);
    if (job.state !== 'DONE') this.stop(job, 'stopped');
    return { kind: 'bigquery#jobCancelResponse', job: this.jobResource(job) };
  }

  /** jobs.delete (metadata only). */
  delete(projectId: string, jobId: string): void {
    const job = this.requireJob(projectId, jobId);
    if (job.state !== 'DONE') throw invalid(`Job ${projectId}:${job.location}.${jobId} is still running and cannot be deleted`);
    this.jobs.delete(jobId);
  }

  /** jobs.list (most recent first). */
  list(projectId: string, qs: URLSearchParams): unknown {
    const stateFilter = qs.getAll('stateFilter').map((s) => s.toUpperCase());
    // Like BigQuery: top-level jobs only, or the children of `parentJobId`.
    const parent = qs.get('parentJobId') ?? undefined;
    const all = [...this.jobs.values()]
      .filter((j) => j.projectId === projectId && j.parentJobId === parent && (stateFilter.length === 0 || stateFilter.includes(j.state)))
      .reverse();
    const start = Number(qs.get('pageToken') ? Buffer.from(qs.get('pageToken') as string, 'base64url').toString() : 0) || 0;
    const size = Number(qs.get('maxResults') ?? 50) || 50;
    const page = all.slice(start, start + size);
    const out: Record<string, unknown> = {
      kind: 'bigquery#jobList',
      jobs: page.map((j) => ({ ...(this.jobResource(j) as Record<string, unknown>), state: j.state })),
    };
    if (start + size < all.length) out.nextPageToken = Buffer.from(String(start + size)).toString('base64url');
    return out;
  }

  /** Stops everything (endpoint shutdown). */
  stopAll(): void {
    for (const job of this.jobs.values()) if (job.state !== 'DONE') this.stop(job, 'stopped');
  }

  // ---------------------------------------------------------------- job lifecycle

  private requireJob(projectId: string, jobId: string): Job {
    const job = this.jobs.get(jobId);
    if (!job || job.projectId !== projectId) throw notFound(`Job ${projectId}:US.${jobId}`);
    return job;
  }

  /**
   * Creates a job, validates and translates its query, and starts it unless
   * it is a dry run. Validation errors leave the job DONE with `error` set.
   */
  private create(
    projectId: string,
    jobId: string | undefined,
    config: QueryConfig,
    extra: { labels?: Record<string, string> | undefined; dryRun: boolean; jobTimeoutMs?: number | undefined; location?: string | undefined },
  ): Job {
    let markDone!: () => void;
    const done = new Promise<void>((r) => (markDone = r));
    const configuration: Record<string, unknown> = {
      jobType: 'QUERY',
      query: stripUndefined({ ...config, useLegacySql: config.useLegacySql ?? false, priority: (config.priority as string | undefined) ?? 'INTERACTIVE' }),
    };
    if (extra.labels) configuration.labels = extra.labels;
    if (extra.dryRun) configuration.dryRun = true;
    if (extra.jobTimeoutMs !== undefined) configuration.jobTimeoutMs = String(extra.jobTimeoutMs);
    const job: Job = {
      projectId,
      jobId: jobId ?? `job_${randomUUID().replace(/-/g, '_')}`,
      location: extra.location ?? 'US',
      state: 'PENDING',
      configuration,
      statementType: 'SELECT',
      creationTime: Date.now(),
      done,
      markDone,
    };
    if (extra.jobTimeoutMs !== undefined) job.jobTimeoutMs = extra.jobTimeoutMs;
    this.remember(job);
    this.counters.jobsCreated++;

    // Assigned on the single-statement path; a script (plan) returns before they are read.
    let translation!: Translation;
    let values!: DuckDBValue[];
    let types!: DuckDBType[];
    let plan: ScriptPlan | undefined;
    try {
      if (typeof config.query !== 'string' || config.query.trim() === '') throw invalid('Query text is required', 'query');
      if (config.useLegacySql === true) throw invalidQuery('Unsupported by the local BigQuery endpoint: legacy SQL (set useLegacySql: false)');
      if (config.destinationTable) throw invalid('Unsupported by the local BigQuery endpoint: destinationTable');
      const ctx: Parameters<typeof translateQuery>[1] = { projectId: this.endpointProjectId, requestProjectId: projectId };
      if (config.defaultDataset?.datasetId) ctx.defaultDataset = config.defaultDataset;
      if (isScript(config.query)) {
        plan = planScript(config.query, ctx);
        job.statementType = plan.statementType;
        // Parameters are checked before anything runs (BigQuery validates the whole script first).
        for (const step of plan.steps) {
          if (step.kind === 'query') bindParameters(step.translation, config);
          if (step.kind === 'ddl' && step.params) bindParameters(step.params, config);
        }
      } else {
        translation = translateQuery(config.query, ctx);
        job.statementType = translation.statementType;
        this.checkTables(projectId, translation.tables);
        const bound = bindParameters(translation, config);
        ({ values, types } = bound);
        translation = { ...translation, sql: bound.sql };
      }
    } catch (err) {
      this.finish(job, asQueryError(err));
      return job;
    }

    if (plan) {
      if (extra.dryRun) {
        void this.dryRunScript(job, plan);
        return job;
      }
      if (job.jobTimeoutMs !== undefined) {
        job.timer = setTimeout(() => this.stop(job, 'timeout'), job.jobTimeoutMs);
        job.timer.unref();
      }
      void this.executeScript(job, plan, config);
      return job;
    }

    if (extra.dryRun) {
      void this.dryRun(job, translation, types);
      return job;
    }
    if (job.jobTimeoutMs !== undefined) {
      job.timer = setTimeout(() => this.stop(job, 'timeout'), job.jobTimeoutMs);
      job.timer.unref();
    }
    void this.execute(job, translation, values, types);
    return job;
  }

  private remember(job: Job): void {
    this.jobs.set(job.jobId, job);
    if (this.jobs.size <= MAX_JOBS) return;
    for (const [id, j] of this.jobs) {
      if (this.jobs.size <= MAX_JOBS) break;
      if (j.state === 'DONE') this.jobs.delete(id);
    }
  }

  /**
   * Tables must exist before running: BigQuery answers 404 notFound, not a SQL error.
   * Then a table with `require_partition_filter` must be read with a partition filter (400).
   */
  private checkTables(projectId: string, tables: TableRef[]): void {
    for (const t of tables) {
      if (!this.catalog.hasDataset(t.datasetId)) throw notFound(`Dataset ${t.projectId || projectId}:${t.datasetId} was not found in location US`);
      if (!this.catalog.findTable(t.datasetId, t.tableId)) throw notFound(`Table ${t.projectId || projectId}:${t.datasetId}.${t.tableId} was not found in location US`);
    }
    checkPartitionFilters(tables, (d, t) => this.catalog.findTable(d, t));
  }

  private async dryRun(job: Job, t: Translation, types: DuckDBType[]): Promise<void> {
    try {
      await this.engine.with(async (conn) => {
        const prepared = await conn.prepare(t.sql);
        try {
          if (t.statementType === 'SELECT') {
            const fields: BqField[] = [];
            for (let i = 0; i < prepared.columnCount; i++) fields.push(duckTypeToBqField(prepared.columnName(i), prepared.columnType(i)));
            job.dryRunSchema = fields;
          } else job.dryRunSchema = [];
          void types;
          job.bytesProcessed = await this.estimateBytes(conn, t.tables);
        } finally {
          prepared.destroySync();
        }
      });
      this.finish(job);
    } catch (err) {
      this.finish(job, asQueryError(err));
    }
  }

  private async execute(job: Job, t: Translation, values: DuckDBValue[], types: DuckDBType[]): Promise<void> {
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
        if (t.statementType !== 'SELECT') return { fields: [], rows: [], numDmlAffectedRows: reader.rowsChanged };
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

  /** Bytes a query over `tables` would process (existing tables only; see tableBytes.ts). */
  private async estimateBytes(conn: DuckDBConnection, tables: TableRef[]): Promise<number> {
    let total = 0;
    const seen = new Set<string>();
    for (const ref of tables) {
      const key = `${ref.datasetId}.${ref.tableId}`;
      const meta = this.catalog.findTable(ref.datasetId, ref.tableId);
      if (seen.has(key) || !meta) continue;
      seen.add(key);
      total += await tableLogicalBytes(conn, meta);
    }
    return total;
  }

  /** Dry run of a script: validated at planning; bytes estimated from the tables it reads. */
  private async dryRunScript(job: Job, plan: ScriptPlan): Promise<void> {
    try {
      job.dryRunSchema = [];
      job.bytesProcessed = await this.engine.with((conn) => this.estimateBytes(conn, plan.tables));
      this.finish(job);
    } catch (err) {
      this.finish(job, asQueryError(err));
    }
  }

  /** Runs a script (scripts.ts), recording one child job per executed statement. */
  private async executeScript(job: Job, plan: ScriptPlan, config: QueryConfig): Promise<void> {
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
        checkTables: (tables) => this.checkTables(job.projectId, tables),
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
    if (r.ddl) result.ddl = r.ddl;
    child.result = result;
    if (r.error) child.error = r.error;
    markDone();
    this.remember(child);
  }

  /** jobs.insert of a copy job (copyJobs.ts): answers at once; the copy runs in the background. */
  private insertCopy(projectId: string, body: Record<string, unknown>, configuration: Record<string, unknown>): unknown {
    return this.startBackgroundJob(projectId, body, { ...configuration, jobType: 'COPY' }, { statementType: 'COPY', copy: { copiedRows: 0, copiedLogicalBytes: 0 } }, async (job) => {
      job.copy = await runCopyJob(this.engine, this.catalog, { projectId: this.endpointProjectId, requestProjectId: projectId }, configuration.copy as CopyConfig);
    });
  }

  /** jobs.insert of a load job with its uploaded data (upload.ts, loadJobs.ts): answers at once; the load runs in the background. */
  insertLoad(projectId: string, body: Record<string, unknown>, data: Buffer): unknown {
    const configuration = (body.configuration ?? {}) as Record<string, unknown>;
    const empty: LoadOutcome = { inputFiles: 0, inputFileBytes: 0, outputRows: 0, outputBytes: 0, badRecords: 0 };
    return this.startBackgroundJob(projectId, body, { ...configuration, jobType: 'LOAD' }, { statementType: 'LOAD', load: empty }, async (job) => {
      job.load = await runLoadJob(this.engine, this.catalog, { projectId: this.endpointProjectId, requestProjectId: projectId }, configuration.load as LoadConfig, data);
    });
  }

  /** A job that is not a query (copy, load): remembered at once, `run` does its work in the background and the job ends with its outcome. */
  private startBackgroundJob(
    projectId: string,
    body: Record<string, unknown>,
    configuration: Record<string, unknown>,
    initial: Pick<Job, 'statementType' | 'copy' | 'load'>,
    run: (job: Job) => Promise<void>,
  ): unknown {
    const ref = (body.jobReference ?? {}) as { jobId?: string; location?: string };
    if (ref.jobId && this.jobs.has(ref.jobId)) throw duplicate(`Job ${projectId}:${ref.location ?? 'US'}.${ref.jobId}`);
    let markDone!: () => void;
    const done = new Promise<void>((r) => (markDone = r));
    const job: Job = {
      ...initial,
      projectId,
      jobId: ref.jobId ?? `job_${randomUUID().replace(/-/g, '_')}`,
      location: ref.location ?? 'US',
      state: 'RUNNING',
      configuration,
      creationTime: Date.now(),
      startTime: Date.now(),
      done,
      markDone,
    };
    this.remember(job);
    this.counters.jobsCreated++;
    this.counters.jobsRunning++;
    void run(job)
      .then(() => this.finish(job))
      .catch((err: unknown) => this.finish(job, asQueryError(err)))
      .finally(() => this.counters.jobsRunning--);
    return this.jobResource(job);
  }

  /** Interrupts a job (timeout or cancel); retries until the job settles. */
  private stop(job: Job, reason: 'timeout' | 'stopped'): void {
    if (job.state === 'DONE' || job.stopReason) return;
    job.stopReason = reason;
    const poke = (): void => {
      if (job.state === 'DONE') return;
      job.conn?.interrupt();
      job.interruptTimer = setTimeout(poke, INTERRUPT_RETRY_MS);
      job.interruptTimer.unref();
    };
    poke();
  }

  private finish(job: Job, error?: BigQueryApiError): void {
    if (job.timer) clearTimeout(job.timer);
    if (job.interruptTimer) clearTimeout(job.interruptTimer);
    if (error) {
      job.error = error;
      this.counters.jobsFailed++;
      if (error.reason === 'timeout') this.counters.jobsTimedOut++;
      if (error.reason === 'stopped') this.counters.jobsCancelled++;
    }
    job.state = 'DONE';
    job.startTime ??= Date.now();
    job.endTime = Date.now();
    job.markDone();
  }

  private async waitFor(job: Job, ms: number): Promise<void> {
    if (job.state === 'DONE' || ms <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([job.done, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    if (timer) clearTimeout(timer);
  }

  // ---------------------------------------------------------------- responses

  private reference(job: Job): Record<string, string> {
    return { projectId: job.projectId, jobId: job.jobId, location: job.location };
  }

  private jobResource(job: Job): unknown {
    const status: Record<string, unknown> = { state: job.state };
    if (job.error) {
      const proto = toErrorProto(job.error);
      status.errorResult = proto;
      status.errors = jobStatusErrors(job.error);
    }
    const queryStats: Record<string, unknown> = {
      totalBytesProcessed: '0',
      totalBytesBilled: '0',
      cacheHit: false,
      statementType: job.statementType,
    };
    if (job.result?.numDmlAffectedRows !== undefined) {
      queryStats.numDmlAffectedRows = String(job.result.numDmlAffectedRows);
      queryStats.dmlStats = dmlStats(job.statementType, job.result.numDmlAffectedRows);
    }
    if (job.result?.ddl) {
      queryStats.ddlOperationPerformed = job.result.ddl.ddlOperationPerformed;
      queryStats.ddlTargetTable = job.result.ddl.ddlTargetTable;
    }
    if (job.dryRunSchema) queryStats.schema = { fields: job.dryRunSchema };
    const bytes = String(job.bytesProcessed ?? 0);
    queryStats.totalBytesProcessed = bytes;
    const statistics: Record<string, unknown> = {
      creationTime: String(job.creationTime),
      totalBytesProcessed: bytes,
    };
    if (job.copy) statistics.copy = { copiedRows: String(job.copy.copiedRows), copiedLogicalBytes: String(job.copy.copiedLogicalBytes) };
    else if (job.load) statistics.load = loadStatistics(job.load);
    else statistics.query = queryStats;
    if (job.parentJobId) statistics.parentJobId = job.parentJobId;
    if (job.scriptStatistics) statistics.scriptStatistics = job.scriptStatistics;
    if (job.numChildJobs !== undefined) statistics.numChildJobs = String(job.numChildJobs);
    if (job.startTime !== undefined) statistics.startTime = String(job.startTime);
    if (job.endTime !== undefined) statistics.endTime = String(job.endTime);
    return {
      kind: 'bigquery#job',
      etag: Buffer.from(`${job.jobId}:${job.state}`).toString('base64'),
      id: `${job.projectId}:${job.location}.${job.jobId}`,
      selfLink: `${this.baseUrl()}/bigquery/v2/projects/${job.projectId}/jobs/${job.jobId}?location=${job.location}`,
      user_email: 'local@bigquery.local',
      configuration: job.configuration,
      jobReference: this.reference(job),
      statistics,
      status,
      principal_subject: 'user:local@bigquery.local',
      jobCreationReason: { code: 'REQUESTED' },
    };
  }

  private incompleteResponse(job: Job): unknown {
    return { kind: 'bigquery#getQueryResultsResponse', jobReference: this.reference(job), jobComplete: false };
  }

  private dryRunQueryResponse(job: Job): unknown {
    return {
      kind: 'bigquery#queryResponse',
      jobReference: this.reference(job),
      schema: { fields: job.dryRunSchema ?? [] },
      totalBytesProcessed: String(job.bytesProcessed ?? 0),
      jobComplete: true,
      cacheHit: false,
    };
  }

  private resultsResponse(job: Job, opts: ResultOptions, kind: string): unknown {
    const result = job.result as JobResult;
    const out: Record<string, unknown> = {
      kind,
      jobReference: this.reference(job),
      queryId: job.jobId,
      jobComplete: true,
      cacheHit: false,
      totalBytesProcessed: '0',
    };
    if (DML_TYPES.has(job.statementType)) {
      out.numDmlAffectedRows = String(result.numDmlAffectedRows ?? 0);
      out.dmlStats = dmlStats(job.statementType, result.numDmlAffectedRows ?? 0);
      out.totalRows = '0';
      return out;
    }
    const start = opts.pageToken ? decodePageToken(opts.pageToken) : Math.max(0, opts.startIndex ?? 0);
    const size = opts.maxResults !== undefined && opts.maxResults > 0 ? opts.maxResults : DEFAULT_PAGE_ROWS;
    const slice = result.rows.slice(start, start + size);
    out.schema = { fields: result.fields };
    out.totalRows = String(result.rows.length);
    out.rows = slice.map((r) => encodeRow(result.fields, r, { timestampFormat: opts.timestampFormat }));
    if (start + size < result.rows.length) out.pageToken = encodePageToken(start + size);
    return out;
  }
}

// ------------------------------------------------------------------ helpers

/** Statement types whose results are affected-row counts. */
const DML_TYPES = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

function throwIfFailed(job: Job): void {
  if (job.error) throw job.error;
}

function dmlStats(statementType: string, n: number): Record<string, string> {
  if (statementType === 'INSERT') return { insertedRowCount: String(n) };
  if (statementType === 'UPDATE') return { updatedRowCount: String(n) };
  return { deletedRowCount: String(n) };
}

/** Opaque page tokens: the next row offset. */
function encodePageToken(offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64url');
}

function decodePageToken(token: string): number {
  const m = /^o:(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
  if (!m) throw invalid(`Invalid page token: ${token}`, 'pageToken');
  return Number(m[1]);
}

function numberOr(v: unknown, fallback: number): number {
  if (v === null || v === undefined || v === '') return fallback;
  const n = Number(v);
  return Number.isFinite(n) ? n : fallback;
}

/**
 * TIMESTAMP output format. BigQuery's REST default is float seconds; the
 * Node client asks for int64 microseconds (`useInt64Timestamp=true`).
 */
function timestampFormatOf(f: Record<string, unknown> | undefined, fromQueryString: boolean): TimestampFormat {
  void fromQueryString;
  const explicit = f?.timestampOutputFormat;
  if (explicit === 'ISO8601_STRING') return 'iso';
  if (explicit === 'INT64') return 'int64';
  if (explicit === 'FLOAT64') return 'float';
  const v = f?.useInt64Timestamp;
  return v === true || v === 'true' ? 'int64' : 'float';
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

function stopError(job: Job): BigQueryApiError {
  if (job.stopReason === 'timeout') {
    const secs = (job.jobTimeoutMs ?? 0) / 1000;
    return new BigQueryApiError(400, 'timeout', `Job timed out after ${secs}s. Job execution was cancelled: Job timed out (configuration.jobTimeoutMs=${job.jobTimeoutMs ?? 0}).`);
  }
  return new BigQueryApiError(400, 'stopped', 'Job execution was cancelled: User requested cancellation');
}

/** Maps DuckDB / validation errors onto BigQuery error reasons. */
function asQueryError(err: unknown): BigQueryApiError {
  if (err instanceof BigQueryApiError) return err;
  if (err instanceof ValueError) return invalidQuery(err.message, err.location);
  // Engine text never reaches the client: it gets BigQuery's wording instead.
  return fromEngineError(err instanceof Error ? err.message : String(err));
}

/**
 * Turns `queryParameters` into positional DuckDB values for `$1..$n`. Large
 * ARRAY<STRUCT> parameters are bound as JSON text (bulkParams.ts), which
 * rewrites their placeholders: run the returned `sql`, not `t.sql`.
 */
function bindParameters(t: Translation, config: QueryConfig): { values: DuckDBValue[]; types: DuckDBType[]; sql: string } {
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

export type { ErrorProto };
export { httpStatusForReason };

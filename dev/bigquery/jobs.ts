/**
 * Query jobs: jobs.query, jobs.insert, jobs.getQueryResults, jobs.get,
 * jobs.cancel, jobs.list, jobs.delete — the REST entry points and the job
 * lifecycle (create, stop, finish). The work is split by job: the job store
 * (`jobStore.ts`), the planner (`queryPlanner.ts`), the executor
 * (`queryExecutor.ts`) and the response rendering (`jobResponses.ts`).
 *
 * Every query — even a synchronous jobs.query — becomes a job in a bounded
 * in-memory table, because the Node client fetches further pages and polls
 * status by job id. A job runs on its own pooled DuckDB connection so that
 * `jobTimeoutMs` and `jobs.cancel` can `interrupt()` exactly that query.
 */
import { randomUUID } from 'node:crypto';
import type { Catalog } from './catalog.js';
import { stripUndefined } from './catalog.js';
import type { Engine } from './engine.js';
import { duplicate, httpStatusForReason, invalid } from './errors.js';
import type { BigQueryApiError, ErrorProto } from './errors.js';
import { runCopyJob } from './copyJobs.js';
import type { CopyConfig } from './copyJobs.js';
import { runLoadJob } from './loadJobs.js';
import type { LoadConfig, LoadOutcome } from './loadJobs.js';
import { dryRunQueryResponse, incompleteResponse, jobResource, resultsResponse } from './jobResponses.js';
import type { ResultOptions } from './jobResponses.js';
import { JobStore } from './jobStore.js';
import type { Job, JobStats } from './jobStore.js';
import { asQueryError, QueryExecutor } from './queryExecutor.js';
import { planQuery } from './queryPlanner.js';
import type { QueryConfig, QueryParameter, QueryPlan } from './queryPlanner.js';
import type { TimestampFormat } from './values.js';

/** BigQuery's default wait of jobs.query / getQueryResults. */
const DEFAULT_WAIT_MS = 10_000;
/** Re-send interrupts while a stopped job is still running (an interrupt can race the query start). */
const INTERRUPT_RETRY_MS = 25;

/** Runs and remembers query jobs. */
export class JobManager {
  private readonly jobs = new JobStore();
  private readonly counters: JobStats = { jobsCreated: 0, jobsRunning: 0, jobsFailed: 0, jobsTimedOut: 0, jobsCancelled: 0 };
  private readonly executor: QueryExecutor;

  constructor(
    private readonly engine: Engine,
    private readonly catalog: Catalog,
    private readonly endpointProjectId: string,
    private readonly baseUrl: () => string,
  ) {
    this.executor = new QueryExecutor(engine, catalog, this.jobs, this.counters, (job, error) => this.finish(job, error));
  }

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
      return dryRunQueryResponse(job);
    }
    if (job.error) throw job.error;
    const waitMs = numberOr(body.timeoutMs, DEFAULT_WAIT_MS);
    await this.waitFor(job, waitMs);
    if (job.state !== 'DONE') return incompleteResponse(job);
    // Re-read through a call: TypeScript keeps the pre-await narrowing of job.error.
    throwIfFailed(job);
    const format = timestampFormatOf(body.formatOptions as Record<string, unknown> | undefined, false);
    const opts: ResultOptions = { timestampFormat: format };
    if (body.maxResults !== undefined) opts.maxResults = Number(body.maxResults);
    return resultsResponse(job, opts, 'bigquery#queryResponse');
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
    return jobResource(job, this.baseUrl());
  }

  /** jobs.getQueryResults */
  async getQueryResults(projectId: string, jobId: string, qs: URLSearchParams): Promise<unknown> {
    const job = this.jobs.require(projectId, jobId);
    await this.waitFor(job, numberOr(qs.get('timeoutMs'), DEFAULT_WAIT_MS));
    if (job.state !== 'DONE') return incompleteResponse(job);
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
    if (job.dryRunSchema) return dryRunQueryResponse(job);
    return resultsResponse(job, opts, 'bigquery#getQueryResultsResponse');
  }

  /** jobs.get */
  get(projectId: string, jobId: string): unknown {
    return jobResource(this.jobs.require(projectId, jobId), this.baseUrl());
  }

  /** jobs.cancel: asks the job to stop; it ends DONE with reason `stopped`. */
  cancel(projectId: string, jobId: string): unknown {
    const job = this.jobs.require(projectId, jobId);
    if (job.state !== 'DONE') this.stop(job, 'stopped');
    return { kind: 'bigquery#jobCancelResponse', job: jobResource(job, this.baseUrl()) };
  }

  /** jobs.delete (metadata only). */
  delete(projectId: string, jobId: string): void {
    const job = this.jobs.require(projectId, jobId);
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
      jobs: page.map((j) => ({ ...(jobResource(j, this.baseUrl()) as Record<string, unknown>), state: j.state })),
    };
    if (start + size < all.length) out.nextPageToken = Buffer.from(String(start + size)).toString('base64url');
    return out;
  }

  /** Stops everything (endpoint shutdown). */
  stopAll(): void {
    for (const job of this.jobs.values()) if (job.state !== 'DONE') this.stop(job, 'stopped');
  }

  // ---------------------------------------------------------------- job lifecycle

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
    this.jobs.add(job);
    this.counters.jobsCreated++;

    let planned: QueryPlan;
    try {
      planned = planQuery(config, projectId, this.endpointProjectId, this.catalog);
      job.statementType = planned.kind === 'script' ? planned.statementType : planned.translation.statementType;
    } catch (err) {
      this.finish(job, asQueryError(err));
      return job;
    }
    if (extra.dryRun) {
      if (planned.kind === 'script') void this.executor.dryRunScript(job, planned.plan, config);
      else void this.executor.dryRun(job, planned.translation, planned.values, planned.types);
      return job;
    }
    if (job.jobTimeoutMs !== undefined) {
      job.timer = setTimeout(() => this.stop(job, 'timeout'), job.jobTimeoutMs);
      job.timer.unref();
    }
    if (planned.kind === 'script') void this.executor.executeScript(job, planned.plan, config);
    else void this.executor.execute(job, planned.translation, planned.values, planned.types);
    return job;
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
    this.jobs.add(job);
    this.counters.jobsCreated++;
    this.counters.jobsRunning++;
    void run(job)
      .then(() => this.finish(job))
      .catch((err: unknown) => this.finish(job, asQueryError(err)))
      .finally(() => this.counters.jobsRunning--);
    return jobResource(job, this.baseUrl());
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


}

// ------------------------------------------------------------------ helpers

function throwIfFailed(job: Job): void {
  if (job.error) throw job.error;
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

export type { QueryConfig, QueryParameter } from './queryPlanner.js';
export type { Job, JobStats } from './jobStore.js';
export type { ResultOptions } from './jobResponses.js';
export type { ErrorProto };
export { httpStatusForReason };

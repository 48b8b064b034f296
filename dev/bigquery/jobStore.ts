/**
 * The job store: the jobs the endpoint remembers (bounded: the oldest finished
 * jobs, and their rows, are forgotten first) and the shape of a job.
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { CopyOutcome } from './copyJobs.js';
import type { DdlOutcome } from './ddl.js';
import type { LoadOutcome } from './loadJobs.js';
import { notFound } from './errors.js';
import type { BigQueryApiError } from './errors.js';
import type { BqField } from './types.js';

/** Most jobs remembered; older finished jobs (and their rows) are forgotten first. */
const MAX_JOBS = 500;

export type JobState = 'PENDING' | 'RUNNING' | 'DONE';

export interface JobResult {
  fields: BqField[];
  rows: DuckDBValue[][];
  numDmlAffectedRows?: number;
  dmlStats?: Record<string, string>;
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
  /** Dry-run estimate (see statementBytes.ts). */
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

/** Counters for the endpoint's `stats()`. */
export interface JobStats {
  jobsCreated: number;
  jobsRunning: number;
  jobsFailed: number;
  jobsTimedOut: number;
  jobsCancelled: number;
}

/** The remembered jobs, by id. */
export class JobStore {
  private readonly jobs = new Map<string, Job>();

  get size(): number {
    return this.jobs.size;
  }

  has(jobId: string): boolean {
    return this.jobs.has(jobId);
  }

  /** All jobs, oldest first. */
  values(): IterableIterator<Job> {
    return this.jobs.values();
  }

  /** Remembers `job`, forgetting the oldest finished jobs beyond the bound. */
  add(job: Job): void {
    this.jobs.set(job.jobId, job);
    if (this.jobs.size <= MAX_JOBS) return;
    for (const [id, j] of this.jobs) {
      if (this.jobs.size <= MAX_JOBS) break;
      if (j.state === 'DONE') this.jobs.delete(id);
    }
  }

  /** The job, or BigQuery's 404 when it is unknown or another project's. */
  require(projectId: string, jobId: string): Job {
    const job = this.jobs.get(jobId);
    if (!job || job.projectId !== projectId) throw notFound(`Job ${projectId}:US.${jobId}`);
    return job;
  }

  delete(jobId: string): void {
    this.jobs.delete(jobId);
  }
}

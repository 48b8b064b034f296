/**
 * Response rendering: the job resource and the results pages, in BigQuery's
 * REST shapes (`bigquery#job`, `bigquery#queryResponse`,
 * `bigquery#getQueryResultsResponse`).
 */
import { dmlStatsOf } from './dmlOutcome.js';
import { invalid, jobStatusErrors, toErrorProto } from './errors.js';
import type { Job, JobResult } from './jobStore.js';
import { loadStatistics } from './loadJobs.js';
import { encodeRow } from './values.js';
import type { TimestampFormat } from './values.js';

/** Rows per page when the caller gives no maxResults (BigQuery caps pages at ~10 MB; a row cap keeps responses small here). */
const DEFAULT_PAGE_ROWS = 20_000;

/** Statement types whose results are affected-row counts. */
const DML_TYPES = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/** Paging/format options for result pages. */
export interface ResultOptions {
  maxResults?: number;
  pageToken?: string;
  startIndex?: number;
  timestampFormat: TimestampFormat;
}

/** `jobReference` of a job. */
export function reference(job: Job): Record<string, string> {
  return { projectId: job.projectId, jobId: job.jobId, location: job.location };
}

/** The job resource (jobs.get, jobs.insert, jobs.list). */
export function jobResource(job: Job, baseUrl: string): unknown {
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
    queryStats.dmlStats = job.result.dmlStats ?? dmlStatsOf(job.statementType, job.result.numDmlAffectedRows);
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
    selfLink: `${baseUrl}/bigquery/v2/projects/${job.projectId}/jobs/${job.jobId}?location=${job.location}`,
    user_email: 'local@bigquery.local',
    configuration: job.configuration,
    jobReference: reference(job),
    statistics,
    status,
    principal_subject: 'user:local@bigquery.local',
    jobCreationReason: { code: 'REQUESTED' },
  };
}

/** A results answer before the job is done. */
export function incompleteResponse(job: Job): unknown {
  return { kind: 'bigquery#getQueryResultsResponse', jobReference: reference(job), jobComplete: false };
}

/** The answer to a dry run (schema and bytes, no rows). */
export function dryRunQueryResponse(job: Job): unknown {
  return {
    kind: 'bigquery#queryResponse',
    jobReference: reference(job),
    schema: { fields: job.dryRunSchema ?? [] },
    totalBytesProcessed: String(job.bytesProcessed ?? 0),
    jobComplete: true,
    cacheHit: false,
  };
}

/** One page of a finished job's results (or its DML counts). */
export function resultsResponse(job: Job, opts: ResultOptions, kind: string): unknown {
  const result = job.result as JobResult;
  const out: Record<string, unknown> = {
    kind,
    jobReference: reference(job),
    queryId: job.jobId,
    jobComplete: true,
    cacheHit: false,
    totalBytesProcessed: '0',
  };
  if (DML_TYPES.has(job.statementType)) {
    out.numDmlAffectedRows = String(result.numDmlAffectedRows ?? 0);
    out.dmlStats = result.dmlStats ?? dmlStatsOf(job.statementType, result.numDmlAffectedRows ?? 0);
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

/** Opaque page tokens: the next row offset. */
function encodePageToken(offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64url');
}

function decodePageToken(token: string): number {
  const m = /^o:(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
  if (!m) throw invalid(`Invalid page token: ${token}`, 'pageToken');
  return Number(m[1]);
}

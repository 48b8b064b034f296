import { parseLogConfig } from './config.js';
import { getLogContext } from './context.js';
import { redact, redactString } from './redact.js';

/** Cloud Logging severities we use. */
export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR' | 'CRITICAL';

const SEVERITY_RANK: Record<Severity, number> = { DEBUG: 100, INFO: 200, NOTICE: 300, WARNING: 400, ERROR: 500, CRITICAL: 600 };

/** Where finished lines go. Defaults to stdout, one write per turn of the event loop (see {@link stdoutSink}). */
export type LogSink = (line: string) => void;

let pendingStdout = '';
let flushScheduled = false;

/** Writes the lines gathered in this turn, in one write (synchronous for a pipe or file). */
function flushStdout(): void {
  flushScheduled = false;
  if (pendingStdout === '') return;
  const text = pendingStdout;
  pendingStdout = '';
  process.stdout.write(text);
}

/**
 * Lines written in one turn of the event loop leave in one write, at the end of it: under
 * load many requests finish per turn, and a write per access line was a system call per
 * request. Nothing waits on a timer — the lines go out before the loop polls again — and
 * what is pending is written on `exit`, which also runs after `process.exit` on a fatal
 * error; only a SIGKILL in the middle of a turn loses that turn's lines.
 */
const stdoutSink: LogSink = (line) => {
  pendingStdout += line + '\n';
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(flushStdout);
};
process.on('exit', flushStdout);


let sink: LogSink = stdoutSink;
let minRank = SEVERITY_RANK[parseLogConfig().level];

/**
 * The project that qualifies trace ids, read on the first traced line rather than at
 * load: the platform sets it before any request, and a test may set it after importing.
 */
let traceProject: { id: string | undefined } | undefined;

/** Redirects log output (tests capture lines this way); returns a function that restores it. */
export function setLogSink(next: LogSink): () => void {
  const previous = sink;
  sink = next;
  return () => {
    sink = previous;
  };
}

/** Sets the lowest severity that is written. */
export function setLogLevel(level: Severity): void {
  minRank = SEVERITY_RANK[level];
}

export type LogFields = Record<string, unknown>;

/** The invocation's context fields and Cloud Logging's special fields, in line order. */
function baseEntry(severity: Severity, message: string): Record<string, unknown> {
  const context = getLogContext();
  const entry: Record<string, unknown> = {
    severity,
    message: redactString(message),
    time: new Date().toISOString(),
  };
  if (context.function !== undefined) entry.function = context.function;
  if (context.executionId !== undefined) entry.execution_id = context.executionId;
  if (context.requestId !== undefined) entry.request_id = context.requestId;
  if (context.org !== undefined) entry.org = context.org;
  if (context.runId !== undefined) entry.run_id = context.runId;
  if (context.trace !== undefined) {
    traceProject ??= { id: parseLogConfig().project };
    const project = traceProject.id;
    entry['logging.googleapis.com/trace'] =
      project === undefined ? context.trace.traceId : `projects/${project}/traces/${context.trace.traceId}`;
    if (context.trace.spanId !== undefined) entry['logging.googleapis.com/spanId'] = context.trace.spanId;
    if (context.trace.sampled !== undefined) entry['logging.googleapis.com/trace_sampled'] = context.trace.sampled;
  }
  return entry;
}

function emit(entry: Record<string, unknown>): void {
  let line: string;
  try {
    line = JSON.stringify(entry);
  } catch {
    line = JSON.stringify({ severity: entry.severity, message: entry.message, time: entry.time, note: 'fields were not serialisable' });
  }
  sink(line);
}

/**
 * Writes one JSON line with Cloud Logging's special fields. Context (function, execution
 * id, request id, org, trace) comes from AsyncLocalStorage; every field is redacted.
 */
export function writeLog(severity: Severity, message: string, fields: LogFields = {}): void {
  if (SEVERITY_RANK[severity] < minRank) return;
  const entry = baseEntry(severity, message);
  const safe = redact(fields) as Record<string, unknown>;
  for (const [key, value] of Object.entries(safe)) {
    if (!(key in entry) && value !== undefined) entry[key] = value;
  }
  emit(entry);
}

/** Cloud Logging's `httpRequest` object, as an access entry fills it. */
export interface HttpRequestLog {
  requestMethod: string;
  requestUrl: string;
  status: number;
  responseSize?: string;
  userAgent?: string;
  remoteIp?: string;
  /** Seconds with an `s` suffix, e.g. `0.012345s`. */
  latency: string;
}

/**
 * The one access line per request. Same shape and context as {@link writeLog}, without
 * its generic deep-copy redaction: the fields are known, and only the caller-controlled
 * text among them (URL, user agent) can carry a secret, so those are redacted as strings.
 * It runs on every request, so it is kept to what it needs.
 */
export function writeAccessLog(severity: Severity, message: string, httpRequest: HttpRequestLog, errorCode?: string): void {
  if (SEVERITY_RANK[severity] < minRank) return;
  const entry = baseEntry(severity, message);
  httpRequest.requestUrl = redactString(httpRequest.requestUrl);
  if (httpRequest.userAgent !== undefined) httpRequest.userAgent = redactString(httpRequest.userAgent);
  entry.httpRequest = httpRequest;
  if (errorCode !== undefined) entry.error_code = errorCode;
  emit(entry);
}

/** The logger every module uses. `error` takes the error itself so its stack and cause are kept. */
export const log = {
  debug: (message: string, fields?: LogFields): void => writeLog('DEBUG', message, fields),
  info: (message: string, fields?: LogFields): void => writeLog('INFO', message, fields),
  notice: (message: string, fields?: LogFields): void => writeLog('NOTICE', message, fields),
  warn: (message: string, fields?: LogFields): void => writeLog('WARNING', message, fields),
  error: (message: string, error?: unknown, fields?: LogFields): void =>
    writeLog('ERROR', message, error === undefined ? fields : { ...fields, err: error }),
  critical: (message: string, error?: unknown, fields?: LogFields): void =>
    writeLog('CRITICAL', message, error === undefined ? fields : { ...fields, err: error }),
};

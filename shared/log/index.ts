/** Structured JSON logs for Cloud Logging, with per-invocation context and secret redaction. */
export {
  log,
  writeLog,
  writeAccessLog,
  setLogSink,
  setLogLevel,
  type HttpRequestLog,
  type LogFields,
  type LogSink,
  type Severity,
} from './logger.js';
export { withLogContext, getLogContext, addLogContext, type LogContext } from './context.js';
export { parseTraceContext, type TraceContext } from './trace.js';
export { redact, redactString, REDACTED } from './redact.js';
export { parseLogConfig, type LogConfig } from './config.js';

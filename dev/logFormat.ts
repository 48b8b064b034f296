/**
 * How `npm start` shows what the functions print. The functions write one Cloud Logging
 * JSON line per event (`shared/log`, unchanged); here each line becomes one line a person
 * can read — time, function, severity, message, the request line of an access log, and the
 * fields that matter — followed by the stack of a logged error. Health-probe access lines
 * are hidden: the gateway's `/healthz` polls every function.
 */

/** `pretty` renders lines for a person; `json` passes the functions' lines through as written. */
export type LogFormat = 'pretty' | 'json';

export interface LogFormatOptions {
  format: LogFormat;
  /** ANSI colours (pretty only). */
  color: boolean;
}

/**
 * Reads the choice from the environment: `LOG_FORMAT=json` for the raw lines, colours only
 * on a terminal and never with `NO_COLOR` set (https://no-color.org), `FORCE_COLOR` to force
 * them (e.g. through a pager).
 */
export function logFormatFrom(env: Record<string, string | undefined>, isTTY: boolean): LogFormatOptions {
  const format: LogFormat = env.LOG_FORMAT?.toLowerCase() === 'json' ? 'json' : 'pretty';
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  const forceColor = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0';
  return { format, color: !noColor && (forceColor || isTTY) };
}

const RESET = '\u001b[0m';
const STYLE = {
  dim: '\u001b[2m',
  bold: '\u001b[1m',
  red: '\u001b[31m',
  green: '\u001b[32m',
  yellow: '\u001b[33m',
  blue: '\u001b[34m',
  magenta: '\u001b[35m',
  cyan: '\u001b[36m',
  boldRed: '\u001b[1;31m',
} as const;
type Style = keyof typeof STYLE;

const SEVERITY_STYLE: Record<string, Style> = {
  DEBUG: 'dim',
  INFO: 'green',
  NOTICE: 'cyan',
  WARNING: 'yellow',
  ERROR: 'red',
  CRITICAL: 'boldRed',
};

/** Each function keeps one colour, so interleaved output is easy to follow. */
const FUNCTION_STYLES: Style[] = ['cyan', 'magenta', 'blue', 'yellow', 'green'];

/** Fields already shown (or only useful to Cloud Logging) and not repeated as `key=value`. */
const SHOWN = new Set(['severity', 'message', 'time', 'function', 'execution_id', 'request_id', 'org', 'error_code', 'httpRequest', 'err']);

/** At most this much of the other fields, so one odd entry cannot flood the terminal. */
const MAX_EXTRA_CHARS = 200;

interface HttpRequestFields {
  requestMethod?: string;
  requestUrl?: string;
  status?: number;
  latency?: string;
}

interface ErrorFields {
  name?: string;
  message?: string;
  stack?: string;
  code?: unknown;
  cause?: unknown;
}

/**
 * Renders one line a function printed. Returns `undefined` for a line that is hidden
 * (a successful `/healthz` access line). In `json` mode the line is returned as written.
 */
export function formatLogLine(functionName: string, line: string, options: LogFormatOptions): string | undefined {
  if (options.format === 'json') return line;
  const paint = (style: Style, text: string): string => (options.color ? `${STYLE[style]}${text}${RESET}` : text);
  const name = paint(functionStyle(functionName), functionName.padEnd(13));

  const entry = parse(line);
  if (entry === undefined) return `${paint('dim', clock(new Date()))} ${name} ${line}`;

  const http = entry.httpRequest as HttpRequestFields | undefined;
  if (http !== undefined && isHealthProbe(http)) return undefined;

  const severity = typeof entry.severity === 'string' ? entry.severity : 'DEFAULT';
  const time = typeof entry.time === 'string' ? new Date(entry.time) : new Date();
  const message = http !== undefined ? requestLine(http) : text(entry.message);
  const err = isObject(entry.err) ? (entry.err as ErrorFields) : undefined;

  const fields: string[] = [];
  if (typeof entry.request_id === 'string') fields.push(`request_id=${entry.request_id}`);
  if (typeof entry.org === 'string') fields.push(`org=${entry.org}`);
  const code = entry.error_code ?? err?.code;
  if (code !== undefined) fields.push(`error=${text(code)}`);
  const extra = extraFields(entry);
  if (extra !== '') fields.push(extra);

  const head = [
    paint('dim', clock(time)),
    name,
    paint(SEVERITY_STYLE[severity] ?? 'bold', severity.padEnd(8)),
    severity === 'ERROR' || severity === 'CRITICAL' ? paint('bold', message) : message,
    fields.length > 0 ? paint('dim', fields.join(' ')) : '',
  ]
    .filter((part) => part !== '')
    .join(' ');
  const stack = err === undefined ? [] : errorLines(err);
  return [head, ...stack.map((l) => paint('dim', `    ${l}`))].join('\n');
}

/** `GET /v1/quota 200 3.1ms` */
function requestLine(http: HttpRequestFields): string {
  const parts = [http.requestMethod ?? '?', pathOf(http.requestUrl ?? ''), String(http.status ?? '?')];
  const latency = formatLatency(http.latency);
  if (latency !== undefined) parts.push(latency);
  return parts.join(' ');
}

/** Cloud Logging's `0.003100s` as `3.1ms` (or `1.25s` from a second on). */
export function formatLatency(latency: string | undefined): string | undefined {
  if (latency === undefined) return undefined;
  const seconds = Number(latency.replace(/s$/, ''));
  if (!Number.isFinite(seconds)) return latency;
  return seconds >= 1 ? `${seconds.toFixed(2)}s` : `${(seconds * 1000).toFixed(1)}ms`;
}

function isHealthProbe(http: HttpRequestFields): boolean {
  return pathOf(http.requestUrl ?? '') === '/healthz' && http.status === 200;
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** The error's stack (its first line names it), then each cause's. */
function errorLines(err: ErrorFields): string[] {
  const lines: string[] = [];
  let current: unknown = err;
  for (let depth = 0; isObject(current) && depth < 5; depth++) {
    const e = current as ErrorFields;
    const stack = typeof e.stack === 'string' && e.stack !== '' ? e.stack : `${e.name ?? 'Error'}: ${e.message ?? ''}`;
    lines.push(...(depth === 0 ? [] : ['Caused by:']), ...stack.split('\n').map((l) => l.trim()));
    current = e.cause;
  }
  return lines;
}

function extraFields(entry: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(entry)) {
    if (SHOWN.has(key) || key.startsWith('logging.googleapis.com/') || value === undefined) continue;
    parts.push(`${key}=${text(value)}`);
  }
  const joined = parts.join(' ');
  return joined.length > MAX_EXTRA_CHARS ? `${joined.slice(0, MAX_EXTRA_CHARS - 1)}…` : joined;
}

/** Local wall-clock time with milliseconds: `14:03:07.412`. */
function clock(date: Date): string {
  if (Number.isNaN(date.getTime())) return '--:--:--.---';
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

function functionStyle(name: string): Style {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return FUNCTION_STYLES[hash % FUNCTION_STYLES.length] ?? 'cyan';
}

function parse(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return isObject(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A field as text: strings as they are, anything else as JSON. */
function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

import { afterEach, describe, expect, it } from 'vitest';
import { formatLatency, formatLogLine, logFormatFrom, type LogFormatOptions } from '../../dev/logFormat.js';
import { AppError, UnavailableError } from '../../shared/errors/index.js';
import { log, withLogContext, writeAccessLog, type Severity } from '../../shared/log/index.js';
import { captureLogs, type CapturedLogs } from '../fixtures/runtime/logs.js';

const plain: LogFormatOptions = { format: 'pretty', color: false };
const coloured: LogFormatOptions = { format: 'pretty', color: true };
const TIME = '\\d\\d:\\d\\d:\\d\\d\\.\\d{3}';
// eslint-disable-next-line no-control-regex -- ANSI escapes are what is being checked
const ANSI = /\u001b\[[0-9;]*m/;

let capture: CapturedLogs | undefined;
afterEach(() => capture?.restore());

/** One line exactly as a function writes it: through shared/log, inside a request's context. */
function realLine(write: () => void): string {
  capture = captureLogs('DEBUG');
  withLogContext({ function: 'quota', executionId: 'exec-1', requestId: 'req-42', org: 'acme', trace: { traceId: 'abc123' } }, write);
  capture.restore();
  const line = capture.lines[0];
  capture = undefined;
  if (line === undefined) throw new Error('nothing was logged');
  return line;
}

function access(severity: Severity, method: string, url: string, status: number, latency: string, code?: string): () => void {
  return () => writeAccessLog(severity, `${method} ${url} ${status}`, { requestMethod: method, requestUrl: url, status, latency, remoteIp: '127.0.0.1' }, code);
}

describe('npm start log lines', () => {
  it.each([
    {
      what: 'an access line shows the request line with its latency and the request id and org',
      write: access('INFO', 'GET', '/v1/quota?x=1', 200, '0.003100s'),
      expected: `^${TIME} quota         INFO     GET /v1/quota 200 3\\.1ms request_id=req-42 org=acme$`,
    },
    {
      what: 'a refused request shows its error code',
      write: access('WARNING', 'POST', '/v1/pricing', 400, '0.000420s', 'INVALID_ARGUMENT'),
      expected: `^${TIME} quota         WARNING  POST /v1/pricing 400 0\\.4ms request_id=req-42 org=acme error=INVALID_ARGUMENT$`,
    },
    {
      what: 'a slow request shows seconds',
      write: access('ERROR', 'GET', '/v1/costs', 504, '1.254000s', 'DEADLINE_EXCEEDED'),
      expected: `^${TIME} quota         ERROR    GET /v1/costs 504 1\\.25s request_id=req-42 org=acme error=DEADLINE_EXCEEDED$`,
    },
    {
      what: 'an event line shows its message and its own fields',
      write: () => log.info('Flushed buffered writes', { rows: 3, table: 'api_keys' }),
      expected: `^${TIME} quota         INFO     Flushed buffered writes request_id=req-42 org=acme rows=3 table=api_keys$`,
    },
    {
      what: 'secrets stay redacted as shared/log wrote them',
      write: () => log.warn('Key rejected', { api_key: 'ca_live_0123456789abcdef0123456789abcdef' }),
      expected: `^${TIME} quota         WARNING  Key rejected request_id=req-42 org=acme api_key=\\[REDACTED\\]$`,
    },
  ])('$what', ({ write, expected }) => {
    expect(formatLogLine('quota', realLine(write), plain)).toMatch(new RegExp(expected));
  });

  it('shows a logged error with its code, its stack and its cause', () => {
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:5432');
    const line = realLine(() => log.error('Audit write failed', new UnavailableError('BigQuery is not reachable', { cause })));

    const lines = (formatLogLine('quota', line, plain) ?? '').split('\n');

    expect(lines[0]).toMatch(new RegExp(`^${TIME} quota         ERROR    Audit write failed request_id=req-42 org=acme error=UNAVAILABLE$`));
    expect(lines[1]).toBe('    UnavailableError: BigQuery is not reachable');
    expect(lines[2]).toMatch(/^ {4}at .*logFormat\.test\.ts/);
    expect(lines).toContain('    Caused by:');
    expect(lines).toContain('    Error: connect ECONNREFUSED 127.0.0.1:5432');
  });

  it.each([
    { what: 'a successful health probe is hidden', status: 200, hidden: true },
    { what: 'a failing health probe is shown', status: 503, hidden: false },
  ])('$what', ({ status, hidden }) => {
    const line = realLine(access(status === 200 ? 'INFO' : 'ERROR', 'GET', '/healthz', status, '0.000100s'));

    expect(formatLogLine('quota', line, plain) === undefined).toBe(hidden);
  });

  it('passes a line that is not JSON through with the time and function', () => {
    expect(formatLogLine('orgs', '(node:123) Warning: something', plain)).toMatch(new RegExp(`^${TIME} orgs          \\(node:123\\) Warning: something$`));
  });

  it('colours severity and function only when asked', () => {
    const line = realLine(() => log.error('Boom', new AppError('INTERNAL', 'boom')));

    expect(formatLogLine('quota', line, coloured)).toMatch(ANSI);
    expect(formatLogLine('quota', line, coloured)).toContain('\u001b[31mERROR');
    expect(formatLogLine('quota', line, plain)).not.toMatch(ANSI);
  });

  it('gives the raw line, unchanged, with LOG_FORMAT=json', () => {
    const line = realLine(access('INFO', 'GET', '/v1/quota', 200, '0.001000s'));

    expect(formatLogLine('quota', line, { format: 'json', color: true })).toBe(line);
    expect(JSON.parse(line)).toMatchObject({ severity: 'INFO', request_id: 'req-42', 'logging.googleapis.com/trace': expect.stringContaining('abc123') });
  });

  it.each([
    { env: {}, tty: true, expected: { format: 'pretty', color: true } },
    { env: {}, tty: false, expected: { format: 'pretty', color: false } },
    { env: { NO_COLOR: '1' }, tty: true, expected: { format: 'pretty', color: false } },
    { env: { NO_COLOR: '' }, tty: true, expected: { format: 'pretty', color: true } },
    { env: { FORCE_COLOR: '1' }, tty: false, expected: { format: 'pretty', color: true } },
    { env: { FORCE_COLOR: '1', NO_COLOR: '1' }, tty: true, expected: { format: 'pretty', color: false } },
    { env: { LOG_FORMAT: 'json' }, tty: true, expected: { format: 'json', color: true } },
    { env: { LOG_FORMAT: 'JSON' }, tty: false, expected: { format: 'json', color: false } },
  ])('reads $env on a tty=$tty as $expected', ({ env, tty, expected }) => {
    expect(logFormatFrom(env, tty)).toEqual(expected);
  });

  it.each([
    ['0.003100s', '3.1ms'],
    ['0.000049s', '0.0ms'],
    ['0.999900s', '999.9ms'],
    ['2.000000s', '2.00s'],
    ['garbage', 'garbage'],
  ])('writes the latency %s as %s', (latency, expected) => {
    expect(formatLatency(latency)).toBe(expected);
  });
});

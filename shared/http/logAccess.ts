import { writeAccessLog, type Severity } from '../log/index.js';
import type { RequestState } from './requestState.js';
import { clientIp, headerValue, pathOf } from './requestParts.js';

/**
 * One access-log line per request, with Cloud Logging's `httpRequest` fields; 5xx (or a
 * server failure after a streamed answer's first byte) is an error, 4xx a warning.
 */
export function logAccess(state: RequestState): void {
  const { req, res } = state;
  const status = res.statusCode;
  // A streamed answer that failed after its first byte went out with 200: its failure decides.
  const severity: Severity = status >= 500 || state.failure?.isServerError === true ? 'ERROR' : status >= 400 ? 'WARNING' : 'INFO';
  const url = req.originalUrl ?? req.url;
  writeAccessLog(
    severity,
    `${req.method} ${pathOf(url)} ${status}`,
    {
      requestMethod: req.method,
      requestUrl: url,
      status,
      responseSize: String(res.getHeader('content-length') ?? ''),
      userAgent: headerValue(req.headers['user-agent']),
      remoteIp: clientIp(req),
      latency: `${((performance.now() - state.started) / 1000).toFixed(6)}s`,
    },
    state.failure?.code,
  );
}

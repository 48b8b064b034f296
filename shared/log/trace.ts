/** Trace context from `traceparent` (W3C) or `X-Cloud-Trace-Context`, parsed once per request. */
export interface TraceContext {
  traceId: string;
  spanId?: string;
  sampled?: boolean;
}

type HeaderValue = string | string[] | undefined;

function first(value: HeaderValue): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Parses trace headers. `traceparent` wins when both are present (it is what Cloud Run's
 * front end sends today); `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1` is the legacy form.
 */
export function parseTraceContext(headers: Record<string, HeaderValue>): TraceContext | undefined {
  const traceparent = first(headers['traceparent']);
  if (traceparent !== undefined) {
    const m = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/i.exec(traceparent.trim());
    if (m?.[1] !== undefined && !/^0+$/.test(m[1])) {
      return { traceId: m[1].toLowerCase(), spanId: m[2], sampled: (parseInt(m[3] ?? '0', 16) & 1) === 1 };
    }
  }
  const cloud = first(headers['x-cloud-trace-context']);
  if (cloud !== undefined) {
    const m = /^([0-9a-f]{32})(?:\/(\d+))?(?:;o=([01]))?$/i.exec(cloud.trim());
    if (m?.[1] !== undefined) {
      return { traceId: m[1].toLowerCase(), spanId: m[2], sampled: m[3] === undefined ? undefined : m[3] === '1' };
    }
  }
  return undefined;
}

/**
 * BigQuery-shaped errors.
 *
 * The Node client turns an HTTP error body of the form
 * `{error:{code,message,errors:[{reason,message,...}]}}` into an `ApiError`
 * whose `code`, `message` and `errors[].reason` callers branch on, so every
 * failure the endpoint reports goes through {@link BigQueryApiError} and
 * {@link errorResponseBody} to keep that shape identical to the real service.
 */

/** The `errors[].reason` values this endpoint produces (a subset of BigQuery's). */
export type BigQueryErrorReason =
  | 'notFound'
  | 'duplicate'
  | 'invalidQuery'
  | 'invalid'
  | 'timeout'
  | 'stopped'
  | 'backendError'
  | 'resourceInUse'
  | 'badRequest'
  | 'notImplemented'
  | 'responseTooLarge';

/**
 * Prefix of messages raised inside DuckDB by the endpoint's own runtime checks
 * (`error('<marker>division by zero: 1 / 0')`): the text after it is already
 * BigQuery's message and goes to the client unchanged.
 */
export const ENGINE_ERROR_MARKER = '[bigquery-local] ';

/** An error that maps one-to-one onto a BigQuery error response. */
export class BigQueryApiError extends Error {
  constructor(
    /** HTTP status the REST layer answers with. */
    readonly httpStatus: number,
    readonly reason: BigQueryErrorReason,
    message: string,
    /** BigQuery's optional `location` (a field name or query position). */
    readonly location?: string,
  ) {
    super(message);
    this.name = 'BigQueryApiError';
  }
}

/** The `errorResult` / `errors[]` element used in job status and error bodies. */
export interface ErrorProto {
  reason: string;
  message: string;
  location?: string;
  domain?: string;
  debugInfo?: string;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
};

/** Which HTTP status a job-level failure reason is reported with (BigQuery's error table). */
export function httpStatusForReason(reason: string): number {
  switch (reason) {
    case 'notFound':
      return 404;
    case 'duplicate':
      return 409;
    case 'backendError':
      return 500;
    case 'notImplemented':
      return 501;
    default:
      // invalidQuery, invalid, timeout, stopped, resourceInUse … are all 400 on the wire.
      return 400;
  }
}

/** `Not found: <what>` with HTTP 404, matching BigQuery's wording. */
export function notFound(what: string): BigQueryApiError {
  return new BigQueryApiError(404, 'notFound', `Not found: ${what}`);
}

/** `Already Exists: <what>` with HTTP 409. */
export function duplicate(what: string): BigQueryApiError {
  return new BigQueryApiError(409, 'duplicate', `Already Exists: ${what}`);
}

/** HTTP 400 `invalid` (bad request payloads, bad schemas, bad rows). */
export function invalid(message: string, location?: string): BigQueryApiError {
  return new BigQueryApiError(400, 'invalid', message, location);
}

/** HTTP 400 `invalidQuery` (SQL the endpoint or DuckDB cannot run). */
export function invalidQuery(message: string, location?: string): BigQueryApiError {
  return new BigQueryApiError(400, 'invalidQuery', message, location);
}

/**
 * The error for a GoogleSQL construct outside the supported subset. The
 * message always names the construct so a failing test points at it.
 */
export function unsupported(construct: string): BigQueryApiError {
  return invalidQuery(`Unsupported by the local BigQuery endpoint: ${construct}`);
}

/** Converts anything thrown into a {@link BigQueryApiError} (unknown errors become `backendError`). */
export function asApiError(err: unknown): BigQueryApiError {
  if (err instanceof BigQueryApiError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new BigQueryApiError(500, 'backendError', message);
}

/** The error as the element of `errors[]` / `errorResult`. */
export function toErrorProto(err: BigQueryApiError): ErrorProto {
  const proto: ErrorProto = { reason: err.reason, message: err.message };
  if (err.location !== undefined) proto.location = err.location;
  return proto;
}

/** The full JSON body of an HTTP error response. */
export function errorResponseBody(status: number, errors: ErrorProto[]): unknown {
  const first = errors[0] ?? { reason: 'backendError', message: 'Unknown error' };
  return {
    error: {
      code: status,
      message: first.message,
      status: STATUS_TEXT[status] ?? 'UNKNOWN',
      errors: errors.map((e) => ({ ...e, domain: 'global' })),
    },
  };
}

/**
 * A job failure BigQuery reports with several entries in `status.errors`: the
 * failure itself first, then its causes (a load job's rows that did not parse).
 */
export class BigQueryJobFailure extends BigQueryApiError {
  constructor(
    reason: BigQueryErrorReason,
    message: string,
    /** The entries after the first in `status.errors`. */
    readonly causes: ErrorProto[],
  ) {
    super(httpStatusForReason(reason), reason, message);
    this.name = 'BigQueryJobFailure';
  }
}

/** `status.errors` of a failed job: the error, then its causes when it has any. */
export function jobStatusErrors(err: BigQueryApiError): ErrorProto[] {
  return [toErrorProto(err), ...(err instanceof BigQueryJobFailure ? err.causes : [])];
}

import { ERROR_STATUS, RETRYABLE_CODES, type ErrorCode } from './codes.js';

/** One field-level problem, e.g. `{ path: 'items.3.seats', message: 'Too small' }`. */
export interface ErrorDetail {
  path: string;
  message: string;
}

export interface AppErrorOptions {
  details?: ErrorDetail[];
  cause?: unknown;
  /** Seconds a client should wait before retrying (sent as `Retry-After`). */
  retryAfterSeconds?: number;
  /** Headers the answer must carry, e.g. `Allow` on a `405`. */
  headers?: Readonly<Record<string, string>>;
}

/**
 * The one error family of the runtime: a stable `code`, its HTTP `status`, optional
 * field `details`, and the original `cause`. Foreign errors are wrapped at the boundary
 * (see {@link toAppError}); `AppError`s pass through unchanged.
 */
export class AppError extends Error {
  override readonly name: string = 'AppError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetail[];
  readonly retryAfterSeconds: number | undefined;
  /** Headers the answer must carry (e.g. `Allow` on a `405`); written with the envelope. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = options.details ?? [];
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.headers = options.headers ?? {};
  }

  /** True when the same request may succeed if retried later. */
  get retryable(): boolean {
    return RETRYABLE_CODES.has(this.code);
  }

  /** True for server-side failures, whose message must never reach the caller. */
  get isServerError(): boolean {
    return this.status >= 500;
  }
}

export class InvalidArgumentError extends AppError {
  override readonly name = 'InvalidArgumentError';
  constructor(message: string, details: ErrorDetail[] = [], cause?: unknown) {
    super('INVALID_ARGUMENT', message, { details, cause });
  }
}

export class UnauthenticatedError extends AppError {
  override readonly name = 'UnauthenticatedError';
  constructor(message = 'A valid API key is required') {
    super('UNAUTHENTICATED', message);
  }
}

export class PermissionDeniedError extends AppError {
  override readonly name = 'PermissionDeniedError';
  constructor(message = 'This credential may not call this endpoint') {
    super('PERMISSION_DENIED', message);
  }
}

export class NotFoundError extends AppError {
  override readonly name = 'NotFoundError';
  constructor(message = 'Not found') {
    super('NOT_FOUND', message);
  }
}

export class AlreadyExistsError extends AppError {
  override readonly name = 'AlreadyExistsError';
  constructor(message: string, cause?: unknown) {
    super('ALREADY_EXISTS', message, { cause });
  }
}

export class QuotaExceededError extends AppError {
  override readonly name = 'QuotaExceededError';
  constructor(message: string, retryAfterSeconds?: number) {
    super('QUOTA_EXCEEDED', message, { retryAfterSeconds });
  }
}

/** No capacity within the budget (e.g. no free DB connection); carries `Retry-After`. */
export class UnavailableError extends AppError {
  override readonly name = 'UnavailableError';
  constructor(message: string, options: { retryAfterSeconds?: number; cause?: unknown } = {}) {
    super('UNAVAILABLE', message, { retryAfterSeconds: options.retryAfterSeconds ?? 1, cause: options.cause });
  }
}

/** A timeout tier's budget ran out; the work was cancelled on the server. */
export class DeadlineExceededError extends AppError {
  override readonly name: string = 'DeadlineExceededError';
  constructor(message: string, cause?: unknown) {
    super('DEADLINE_EXCEEDED', message, { cause });
  }
}

export class InternalError extends AppError {
  override readonly name = 'InternalError';
  constructor(message: string, cause?: unknown) {
    super('INTERNAL', message, { cause });
  }
}

/** Type guard that also works across duplicated module instances (bundles). */
export function isAppError(error: unknown): error is AppError {
  return (
    error instanceof AppError ||
    (error instanceof Error && typeof (error as Partial<AppError>).code === 'string' &&
      typeof (error as Partial<AppError>).status === 'number' && 'details' in error)
  );
}

/**
 * Wraps a foreign error at the boundary: `AppError`s pass through; anything else
 * becomes `INTERNAL` with the original kept as `cause` (logged, never sent).
 */
export function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  return new InternalError('Internal error', error);
}

/** Typed errors with stable codes, the API error envelope, and zod mapping. */
export { ERROR_STATUS, RETRYABLE_CODES, type ErrorCode } from './codes.js';
export {
  AppError,
  AlreadyExistsError,
  DeadlineExceededError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  QuotaExceededError,
  UnauthenticatedError,
  UnavailableError,
  isAppError,
  toAppError,
  type AppErrorOptions,
  type ErrorDetail,
} from './AppError.js';
export { errorEnvelope, errorEnvelopeSchema, type ErrorEnvelope } from './envelope.js';
export { invalidArgumentFromZod, zodDetails } from './zod.js';

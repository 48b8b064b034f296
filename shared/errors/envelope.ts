import type { AppError, ErrorDetail } from './AppError.js';
import type { ErrorCode } from './codes.js';

/** The one error body of the API: `{"error":{code,message,details,request_id}}`. */
export interface ErrorEnvelope {
  error: {
    code: ErrorCode;
    message: string;
    details: ErrorDetail[];
    request_id: string;
  };
}

const SERVER_ERROR_MESSAGES: Partial<Record<ErrorCode, string>> = {
  INTERNAL: 'Internal error',
};

/**
 * Builds the envelope for an error. 5xx answers never carry internals: `INTERNAL`
 * always says "Internal error"; other 5xx codes keep their own (deliberately written,
 * internals-free) message.
 */
export function errorEnvelope(error: AppError, requestId: string): ErrorEnvelope {
  const message = SERVER_ERROR_MESSAGES[error.code] ?? error.message;
  return {
    error: {
      code: error.code,
      message,
      details: error.isServerError ? [] : error.details,
      request_id: requestId,
    },
  };
}

import * as z from 'zod';
import type { AppError } from './AppError.js';
import { ERROR_STATUS, type ErrorCode } from './codes.js';

/**
 * The one error body of the API: `{"error":{code,message,details,request_id}}` — the type
 * of {@link errorEnvelope} and the schema the API document shows for every error.
 */
export const errorEnvelopeSchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]).describe('Stable Google API code name; clients branch on it'),
    message: z.string().describe('For a person; never internals (a 500 says only "Internal error")'),
    details: z
      .array(z.object({ path: z.string().describe('The field, parameter or header (`items.3.seats`)'), message: z.string() }))
      .describe('What was wrong, field by field (empty for 5xx)'),
    request_id: z.string().describe('The same as the `X-Request-Id` header'),
  }),
});

export type ErrorEnvelope = z.infer<typeof errorEnvelopeSchema>;

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

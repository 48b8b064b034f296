import type { Response } from '@google-cloud/functions-framework';
import { errorEnvelope, type AppError } from '../errors/index.js';
import { SerializedJson, type HttpResult } from './types.js';

/**
 * Writes the handler's result, or the error envelope with the headers the error carries
 * (`Retry-After`, `Allow`). Does nothing once headers are out (a handler that streamed).
 */
export function writeResponse(res: Response, requestId: string, result: HttpResult | undefined, failure: AppError | undefined): void {
  if (res.headersSent) return;
  if (failure !== undefined) {
    if (failure.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(failure.retryAfterSeconds));
    // `?? {}`: an error made by another copy of this module (an older bundle) may have none.
    for (const [name, value] of Object.entries(failure.headers ?? {})) res.setHeader(name, value);
    res.status(failure.status).json(errorEnvelope(failure, requestId));
    return;
  }
  const status = result?.status ?? 200;
  for (const [key, value] of Object.entries(result?.headers ?? {})) res.setHeader(key, value);
  if (status === 204 || result?.body === undefined) {
    res.status(status).end();
    return;
  }
  if (result.body instanceof SerializedJson) {
    res.status(status).type('application/json').send(result.body.text);
    return;
  }
  res.status(status).json(result.body);
}

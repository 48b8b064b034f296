import type { Response } from '@google-cloud/functions-framework';
import { errorEnvelope, type AppError } from '../errors/index.js';
import { SerializedJson, StreamedBody, type HttpResult } from './types.js';

/**
 * Writes the handler's result, or the error envelope with the headers the error carries
 * (`Retry-After`, `Allow`). Once headers are out (a handler that streamed, `STREAMED`), it
 * only ends the response — or, when the handler failed midway, destroys it: an error
 * envelope can no longer be sent, and a cleanly ended body would look complete.
 */
export function writeResponse(res: Response, requestId: string, result: HttpResult | undefined, failure: AppError | undefined): void {
  if (res.headersSent) {
    if (res.writableEnded) return;
    if (failure !== undefined) res.destroy();
    else res.end();
    return;
  }
  if (failure === undefined && result?.body instanceof StreamedBody) {
    // Streamed, but nothing was written (not even headers): an empty answer.
    res.status(result.status ?? 200).end();
    return;
  }
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

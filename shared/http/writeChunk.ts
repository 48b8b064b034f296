import type { Response } from '@google-cloud/functions-framework';
import { AppError } from '../errors/index.js';

/**
 * Writes one chunk of a streamed answer (see `STREAMED`) and, when the socket's buffer is
 * full (`res.write` returned false), waits for `drain` before returning: a slow client
 * holds back the producer instead of piling the whole answer up in memory. Rejects when
 * the client goes away or `signal` aborts (the invocation's deadline) while waiting.
 */
export async function writeChunk(res: Response, chunk: string, signal?: AbortSignal): Promise<void> {
  if (res.destroyed) throw new AppError('UNAVAILABLE', 'The client went away');
  if (res.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onClose = (): void => {
      cleanup();
      reject(new AppError('UNAVAILABLE', 'The client went away'));
    };
    const onAbort = (): void => {
      cleanup();
      reject(signal?.reason as Error);
    };
    res.on('drain', onDrain);
    res.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted === true) onAbort();
  });
}

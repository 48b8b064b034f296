import type { LookupAddress } from 'node:dns';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import { isPublicAddress } from './publicAddress.js';
import { assertPublic, parseWebhookUrl, resolveAll, type WebhookPolicy } from './webhookUrl.js';

/** What one delivery attempt came to. */
export interface PostOutcome {
  /** The receiver's status; undefined when no answer came (refused, unreachable, timed out). */
  statusCode?: number;
  /** Why it is not a success; undefined on 2xx. Safe to show the org (no internals). */
  error?: string;
  durationMs: number;
}

/**
 * The lookup a delivery connects with: the system resolver's addresses, refused unless all
 * are public — so the address checked is the address connected to, with no second lookup
 * for a rebinding name to answer differently.
 */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  resolveAll(hostname).then(
    (addresses) => {
      try {
        assertPublic(addresses);
      } catch (error) {
        callback(error as NodeJS.ErrnoException, '', 0);
        return;
      }
      const family = typeof options === 'object' ? options.family : options;
      const wanted: LookupAddress[] = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
      if (wanted.length === 0) {
        callback(Object.assign(new Error('no address of the requested family'), { code: 'ENOTFOUND' }), '', 0);
      } else if (typeof options === 'object' && options.all === true) {
        (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, wanted);
      } else {
        const first = wanted[0] as LookupAddress;
        callback(null, first.address, first.family);
      }
    },
    (error: unknown) => callback(error as NodeJS.ErrnoException, '', 0),
  );
};

/**
 * POSTs `body` to a webhook URL, once: the URL's form checked again, the connection made only
 * to a public address (checked on the socket's remote address too), a redirect answered with
 * a failure (never followed), the answer's body ignored, everything within `timeoutMs` and
 * `signal`. Never throws: the outcome says what happened.
 */
export async function postWebhook(
  urlText: string,
  body: string,
  headers: Record<string, string>,
  { policy, timeoutMs, signal }: { policy: WebhookPolicy; timeoutMs: number; signal?: AbortSignal },
): Promise<PostOutcome> {
  const started = performance.now();
  const done = (outcome: Omit<PostOutcome, 'durationMs'>): PostOutcome => ({ ...outcome, durationMs: Math.round(performance.now() - started) });
  let target;
  try {
    target = parseWebhookUrl(urlText, policy);
  } catch (error) {
    return done({ error: `URL refused: ${(error as Error).message}` });
  }
  const { url, loopback } = target;
  const timeout = AbortSignal.timeout(timeoutMs);
  const abort = signal === undefined ? timeout : AbortSignal.any([timeout, signal]);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<PostOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: Omit<PostOutcome, 'durationMs'>): void => {
      if (settled) return;
      settled = true;
      resolve(done(outcome));
    };
    let req: ClientRequest;
    try {
      req = send(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'CloudAct-Webhooks/1' },
        // A fresh connection per attempt, resolved by the public-only lookup (IP literals were checked above).
        agent: false,
        lookup: loopback || isIP(target.host) !== 0 ? undefined : publicOnlyLookup,
        signal: abort,
      });
    } catch (error) {
      finish({ error: `request failed: ${(error as Error).message}` });
      return;
    }
    req.on('socket', (socket: Socket) => {
      socket.once('connect', () => {
        const remote = socket.remoteAddress ?? '';
        const allowed = loopback ? remote === '127.0.0.1' : isPublicAddress(remote);
        if (!allowed) req.destroy(new Error('connected address is not public'));
      });
    });
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      // The answer's body is not ours to read: drop it, and do not wait for it.
      res.resume();
      if (status >= 200 && status < 300) finish({ statusCode: status });
      else if (status >= 300 && status < 400) finish({ statusCode: status, error: `redirect not followed (${status})` });
      else finish({ statusCode: status, error: `receiver answered ${status}` });
      res.destroy();
    });
    req.on('error', (error: Error) => {
      if (timeout.aborted) finish({ error: `no answer within ${timeoutMs} ms` });
      else if (signal?.aborted === true) finish({ error: 'the delivery was cancelled' });
      else finish({ error: error instanceof Error && error.name === 'WebhookUrlError' ? `URL refused: ${error.message}` : `request failed: ${(error as NodeJS.ErrnoException).code ?? error.message}` });
    });
    req.end(body);
  });
}

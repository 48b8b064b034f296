import type { Request } from '@google-cloud/functions-framework';

/** The path of a request URL, without its query string. */
export function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}

/** The first value of a header Node may have split into several. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The caller's address as Express's `req.ip` gives it under functions-framework's
 * `trust proxy` (the left-most `X-Forwarded-For` entry, else the socket's peer) — without
 * proxy-addr's per-request parsing of every hop.
 */
export function clientIp(req: Request): string | undefined {
  const forwarded = headerValue(req.headers['x-forwarded-for']);
  if (forwarded !== undefined && forwarded !== '') {
    const comma = forwarded.indexOf(',');
    const first = (comma === -1 ? forwarded : forwarded.slice(0, comma)).trim();
    if (first !== '') return first;
  }
  return req.socket.remoteAddress;
}

import { lookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { isPublicAddress } from './publicAddress.js';

/** Why a webhook URL is refused; `message` is safe to show the caller. */
export class WebhookUrlError extends Error {
  override readonly name = 'WebhookUrlError';
}

/** What a deployment allows beyond public `https`. */
export interface WebhookPolicy {
  /** `http://127.0.0.1[:port]` too — the local stack and tests only (`WEBHOOK_ALLOW_LOOPBACK_HTTP`). */
  allowLoopbackHttp: boolean;
}

/** The longest URL accepted. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** Names of the cloud metadata server (GCE's, and its short forms), refused before any lookup. */
const METADATA_HOSTS = new Set(['metadata', 'metadata.google.internal', 'metadata.goog']);

/** How long a lookup may take before the URL is refused as unresolvable. */
const LOOKUP_TIMEOUT_MS = 3_000;

/** A parsed webhook URL: where it points, and whether it is the local-only loopback exception. */
export interface WebhookTarget {
  url: URL;
  /** The host without brackets or a trailing dot, lower-case. */
  host: string;
  /** `http://127.0.0.1`, allowed by the policy: the one address a delivery may connect to. */
  loopback: boolean;
}

/**
 * Checks a webhook URL's form, without touching the network: `https` (or the loopback
 * exception), no credentials, not a metadata host name, an IP literal only if public.
 * Throws {@link WebhookUrlError}.
 */
export function parseWebhookUrl(text: string, policy: WebhookPolicy): WebhookTarget {
  if (text.length > MAX_WEBHOOK_URL_LENGTH) throw new WebhookUrlError(`must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new WebhookUrlError('must be an absolute URL');
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  const loopback = policy.allowLoopbackHttp && url.protocol === 'http:' && host === '127.0.0.1';
  if (url.protocol !== 'https:' && !loopback) throw new WebhookUrlError('must use https');
  if (url.username !== '' || url.password !== '') throw new WebhookUrlError('must not contain credentials');
  if (host === '') throw new WebhookUrlError('must name a host');
  if (METADATA_HOSTS.has(host)) throw new WebhookUrlError('must not point at the metadata server');
  if (!loopback && isIP(host) !== 0 && !isPublicAddress(host)) throw new WebhookUrlError('must not point at a loopback, private, link-local or otherwise non-public address');
  return { url, host, loopback };
}

/** Every address `host` resolves to (the system resolver, as a connection would use it), or a {@link WebhookUrlError}. */
export function resolveAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new WebhookUrlError('host could not be resolved in time')), LOOKUP_TIMEOUT_MS);
    lookup(host, { all: true, verbatim: true }, (error, addresses) => {
      clearTimeout(timer);
      if (error !== null || addresses.length === 0) reject(new WebhookUrlError('host does not resolve'));
      else resolve(addresses);
    });
  });
}

/** Refuses unless every address is public: one private answer among public ones is how DNS rebinding starts. */
export function assertPublic(addresses: readonly LookupAddress[]): void {
  if (addresses.some((a) => !isPublicAddress(a.address))) {
    throw new WebhookUrlError('host resolves to a loopback, private, link-local or otherwise non-public address');
  }
}

/**
 * Checks a webhook URL as a budget is saved: its form, then every address its host resolves
 * to. A delivery checks again, on the address it actually connects to (`postWebhook`), so a
 * name that resolves elsewhere later gains nothing.
 */
export async function checkWebhookUrl(text: string, policy: WebhookPolicy): Promise<WebhookTarget> {
  const target = parseWebhookUrl(text, policy);
  if (!target.loopback && isIP(target.host) === 0) assertPublic(await resolveAll(target.host));
  return target;
}

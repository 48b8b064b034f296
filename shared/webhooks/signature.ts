import { createHmac } from 'node:crypto';

/** The header a delivery is signed in (API.md). */
export const SIGNATURE_HEADER = 'CloudAct-Signature';

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` — Stripe's scheme: the
 * timestamp is signed with the body, so a receiver can refuse a replayed delivery by its age.
 */
export function signatureHeader(secret: string, body: string, unixSeconds: number = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

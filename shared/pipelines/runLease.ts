/**
 * The lease of a pipeline run, in SQL, defined once. A run is claimed by one worker at a
 * time under a lease (a token, an expiry at that worker's own deadline, the message whose
 * delivery holds it); every statement that checks, counts or ends a lease uses these.
 */

/**
 * A lease is live while time is left of it: the run holds one of its org's concurrency
 * slots. `alias` qualifies the columns (`r` → `r.status …`).
 */
export function leaseIsLive(alias?: string): string {
  const a = alias === undefined ? '' : `${alias}.`;
  return `${a}status = 'running' AND ${a}lease_expires_at > now()`;
}

/** The SET list that ends a lease (a transition out of `running`). */
export const CLEAR_LEASE = 'lease_token = NULL, lease_expires_at = NULL, lease_message_id = NULL';

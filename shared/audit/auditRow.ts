import type { AuditLogRow } from '../analytics/index.js';
import type { AuditEvent } from '../http/index.js';
import { ACTOR_ADMIN, ACTOR_ANONYMOUS, AUTH_FAILURE_CODES } from './constants.js';

/** What the row needs besides the event; read from the invocation by the hook. */
export interface AuditRowContext {
  /** The function serving the call. */
  functionName: string;
  /** The org the invocation is about, when known from the log context (onboarding). */
  contextOrg: string | undefined;
  /** Actions (`METHOD /route`) whose authenticator is the admin token. */
  adminActions: ReadonlySet<string>;
  /** When the call was answered. */
  at: Date;
}

/** The parts of a tenant principal we read; any principal with these fields counts. */
interface TenantLike {
  keyId?: unknown;
  orgSlug?: unknown;
}

/** `METHOD /route/:pattern`, the `action` column. */
export function actionOf(event: Pick<AuditEvent, 'method' | 'route'>): string {
  return `${event.method.toUpperCase()} ${event.route}`;
}

/**
 * Who made the call: the tenant's API key id; `admin` on an admin route once its
 * authenticator passed (it returns nothing, so a missing principal alone cannot tell);
 * otherwise `anonymous` (authentication failed).
 */
export function actorOf(event: AuditEvent, adminActions: ReadonlySet<string>): string {
  const principal = event.principal as TenantLike | undefined;
  if (typeof principal?.keyId === 'string') return principal.keyId;
  const authFailed = event.code !== undefined && AUTH_FAILURE_CODES.has(event.code);
  return adminActions.has(actionOf(event)) && !authFailed ? ACTOR_ADMIN : ACTOR_ANONYMOUS;
}

/**
 * Turns the wrapper's event into one `org_audit_logs` row.
 *
 * The org is the tenant's for tenant calls, and the one the invocation put in its log
 * context for admin calls (onboarding names the org it creates). `resource` is a JSON
 * object of the path parameters, keys sorted, plus `org_slug` when an admin acted on an
 * org and `id` when a POST created something that has one; null when there is nothing to
 * name.
 */
export function toAuditRow(event: AuditEvent, context: AuditRowContext): AuditLogRow {
  const actor = actorOf(event, context.adminActions);
  const principal = event.principal as TenantLike | undefined;
  const tenantOrg = typeof principal?.orgSlug === 'string' ? principal.orgSlug : undefined;
  const orgSlug = tenantOrg ?? context.contextOrg ?? null;
  const resource: Record<string, string> = {};
  for (const key of Object.keys(event.params).sort()) resource[key] = event.params[key] as string;
  if (actor === ACTOR_ADMIN && orgSlug !== null) resource.org_slug = orgSlug;
  if (event.createdId !== undefined) resource.id = event.createdId;
  return {
    timestamp: context.at.toISOString(),
    org_slug: orgSlug,
    actor,
    action: actionOf(event),
    resource: Object.keys(resource).length === 0 ? null : JSON.stringify(resource),
    outcome: event.status < 400 ? 'success' : 'failure',
    status: event.status,
    error_code: event.code ?? null,
    request_id: event.requestId,
    function: context.functionName,
  };
}

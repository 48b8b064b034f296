/**
 * The audit log: one `cloudact_meta.org_audit_logs` row per mutating call, written by the
 * `audit` hook that `defineHttpFunction` wires into the HTTP wrapper:
 *
 * ```ts
 * defineHttpFunction('pricing', { routes, audit: createAuditHook() });
 * ```
 */
export { createAuditHook, type AuditHook, type AuditHookOptions } from './createAuditHook.js';
export { actionOf, actorOf, toAuditRow, type AuditRowContext } from './auditRow.js';
export { withAuditedOrg } from './withAuditedOrg.js';
export { AuditWriter, type AuditEntry, type AuditWriterOptions } from './AuditWriter.js';
export { parseAuditConfig, type AuditConfig } from './config.js';
export { ACTOR_ADMIN, ACTOR_ANONYMOUS } from './constants.js';

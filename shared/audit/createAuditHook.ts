import { CENTRAL_DATASET, ORG_AUDIT_LOGS } from '../analytics/index.js';
import { insertIdFor, insertRows } from '../bigquery/index.js';
import { runtimeConfig } from '../config/index.js';
import type { AuditEvent } from '../http/index.js';
import { getLogContext, log } from '../log/index.js';
import { toAuditRow } from './auditRow.js';

export interface AuditHookOptions {
  /**
   * Actions (`METHOD /route`, e.g. `POST /v1/orgs`) authenticated by the admin token. Their
   * authenticator returns no principal, so the hook needs to be told.
   * @default []
   */
  adminActions?: readonly string[];
  /** @default () => new Date() */
  now?: () => Date;
}

/** The `audit` option of `createHttpHandler`. */
export type AuditHook = (event: AuditEvent) => Promise<void>;

/**
 * Builds the `audit` hook of `createHttpHandler`: each mutating call becomes one row of
 * `cloudact_meta.org_audit_logs`, streamed with one insert per invocation before the
 * answer is written (Cloud Run may take the CPU away once it is out).
 *
 * The insertId is derived from the request id, the execution id and the answer's time, so
 * a retried insert inside this invocation is stored once, while a client that reuses its
 * `X-Request-Id` for a second call still gets a second row.
 *
 * A failed write never changes the answer: the hook logs one ERROR line carrying the org,
 * the request id, the route and the whole row (nothing secret is in it) — Cloud Logging
 * then holds the record the table missed — and returns normally.
 */
export function createAuditHook({ adminActions = [], now = () => new Date() }: AuditHookOptions = {}): AuditHook {
  const admin: ReadonlySet<string> = new Set(adminActions);
  return async function writeAuditLog(event: AuditEvent): Promise<void> {
    const context = getLogContext();
    const row = toAuditRow(event, {
      functionName: context.function ?? runtimeConfig().functionName,
      contextOrg: context.org,
      adminActions: admin,
      at: now(),
    });
    const insertId = insertIdFor('audit', row.function, row.request_id, context.executionId ?? row.request_id, row.timestamp);
    try {
      await insertRows({ dataset: CENTRAL_DATASET, table: ORG_AUDIT_LOGS.tableId, rows: [{ insertId, json: row }], tier: 'user' });
    } catch (error) {
      log.error('Writing the audit row failed; the call itself is unaffected', error, {
        org: row.org_slug,
        request_id: row.request_id,
        route: event.route,
        action: row.action,
        status: row.status,
        audit_row: row,
      });
    }
  };
}

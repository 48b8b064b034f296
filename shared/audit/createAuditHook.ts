import { CENTRAL_DATASET, ORG_AUDIT_LOGS } from '../analytics/index.js';
import { insertIdFor, insertRows } from '../bigquery/index.js';
import { runtimeConfig } from '../config/index.js';
import type { AuditEvent } from '../http/index.js';
import { isShuttingDown, onShutdown } from '../lifecycle/index.js';
import { getLogContext, log } from '../log/index.js';
import { toAuditRow } from './auditRow.js';
import { AuditWriter } from './AuditWriter.js';
import { parseAuditConfig, type AuditConfig } from './config.js';

export interface AuditHookOptions {
  /**
   * Actions (`METHOD /route`, e.g. `POST /v1/orgs`) authenticated by the admin token. Their
   * authenticator returns no principal, so the hook needs to be told.
   * @default []
   */
  adminActions?: readonly string[];
  /** @default () => new Date() */
  now?: () => Date;
  /** The audit-write settings. @default parsed from the environment (`AUDIT_*`) */
  config?: AuditConfig;
}

/** Time kept back from the shutdown flush's limit to log what could not be written. */
const SHUTDOWN_FLUSH_MARGIN_MS = 100;

/** The `audit` option of `createHttpHandler`. */
export type AuditHook = (event: AuditEvent) => Promise<void>;

/**
 * Builds the `audit` hook of `createHttpHandler`: each authenticated mutating call becomes
 * one row of `cloudact_meta.org_audit_logs`, streamed before the answer is written (Cloud
 * Run may take the CPU away once it is out). Calls that did not authenticate never get
 * here: the wrapper does not audit them, so they cost no BigQuery call and no wait.
 *
 * The insertId is derived from the request id, the execution id and the answer's time, so
 * a retried insert is stored once, while a client that reuses its `X-Request-Id` for a
 * second call still gets a second row.
 *
 * A failed or slow write never changes the answer nor holds it past `AUDIT_WRITE_BUDGET_MS`:
 * the row is kept in a bounded buffer that a later call (and shutdown) writes
 * ({@link AuditWriter}), and the hook logs the row with the org, the request id and the
 * route — Cloud Logging holds the record even if the buffer must drop it.
 */
export function createAuditHook({ adminActions = [], now = () => new Date(), config = parseAuditConfig() }: AuditHookOptions = {}): AuditHook {
  const admin: ReadonlySet<string> = new Set(adminActions);
  const writer = new AuditWriter({
    insert: (rows) => insertRows({ dataset: CENTRAL_DATASET, table: ORG_AUDIT_LOGS.tableId, rows, tier: 'user' }),
    budgetMs: config.writeBudgetMs,
    maxRows: config.bufferMaxRows,
    retryAfterMs: config.retryAfterMs,
    isShuttingDown,
  });
  // Gives up a moment before the shutdown step's limit, so the drop is logged, not cut off.
  onShutdown('audit-log', ({ timeoutMs }) => writer.flush(timeoutMs - SHUTDOWN_FLUSH_MARGIN_MS));
  return async function writeAuditLog(event: AuditEvent): Promise<void> {
    const context = getLogContext();
    const row = toAuditRow(event, {
      functionName: context.function ?? runtimeConfig().functionName,
      contextOrg: context.org,
      adminActions: admin,
      at: now(),
    });
    const insertId = insertIdFor('audit', row.function, row.request_id, context.executionId ?? row.request_id, row.timestamp);
    const fields = { org: row.org_slug, request_id: row.request_id, route: event.route, action: row.action, status: row.status, audit_row: row };
    try {
      if ((await writer.write({ insertId, json: row })) === 'buffered') {
        log.warn('Audit row buffered: BigQuery failed recently; a later call writes it', { ...fields, buffered: writer.size });
      }
    } catch (error) {
      log.error('Writing the audit row failed; the call itself is unaffected', error, { ...fields, buffered: writer.size });
    }
  };
}

import { envInt, parseEnv, type Env } from '../config/index.js';

const auditConfigEnv = {
  /**
   * Longest a mutating call waits for its audit row to reach BigQuery before answering;
   * past it the row is buffered for a later invocation. @default 2000
   */
  AUDIT_WRITE_BUDGET_MS: envInt({ min: 50, max: 10_000, default: 2000 }),
  /** Rows kept for a retry while BigQuery is slow or down; the oldest are dropped (logged) beyond it. @default 1000 */
  AUDIT_BUFFER_MAX_ROWS: envInt({ min: 1, max: 100_000, default: 1000 }),
  /** After a failed write, calls buffer their row without trying BigQuery for this long. @default 5000 */
  AUDIT_RETRY_AFTER_MS: envInt({ min: 0, max: 300_000, default: 5000 }),
};

export interface AuditConfig {
  writeBudgetMs: number;
  bufferMaxRows: number;
  retryAfterMs: number;
}

/** Parses the audit-write settings. */
export function parseAuditConfig(env: Env = process.env): AuditConfig {
  const c = parseEnv(auditConfigEnv, env);
  return { writeBudgetMs: c.AUDIT_WRITE_BUDGET_MS, bufferMaxRows: c.AUDIT_BUFFER_MAX_ROWS, retryAfterMs: c.AUDIT_RETRY_AFTER_MS };
}

/**
 * CloudAct's analytics schema: the BigQuery datasets and tables, defined once
 * (`tables.ts`), their row types, and the idempotent code that creates or verifies them
 * (`ensure.ts`, `ensureCentral.ts`). Runtime code — onboarding ensures an org's dataset
 * at request time, the audit log and the costs function read the definitions — so it
 * lives in `shared/`; `deploy/bigquery/ensureCentral.ts` is only the deploy command.
 *
 * Separate from `shared/bigquery` on purpose: that capability is the transport (client,
 * budgeted queries, idempotent inserts) and knows no table; this one is what our tables
 * are. Used by onboarding, the demo seed, the audit log, the costs function and the tests.
 */
export {
  CENTRAL_DATASET,
  LLM_BILLED_COST_DAILY,
  LLM_USAGE_DAILY,
  TOKEN_COLUMN_PREFIX,
  MANAGED_BY_LABEL,
  ORG_AUDIT_LOGS,
  ORG_DATASET_PREFIX,
  ORG_META_PIPELINE_RUNS,
  ORG_SLUG_PATTERN,
  centralDataset,
  orgDataset,
  orgDatasetId,
  type AuditLogRow,
  type DatasetDefinition,
  type FieldDefinition,
  type FieldType,
  type LlmUsageDailyRow,
  type TableDefinition,
} from './tables.js';
export {
  ensureDataset,
  ensureDatasetDefinition,
  ensureTable,
  tableDrift,
  tableResource,
  type EnsureOptions,
  type EnsureOutcome,
  type EnsureReport,
  type ProvisionStep,
} from './ensure.js';
export { SchemaDriftError } from './errors.js';
export { ensureCentral } from './ensureCentral.js';

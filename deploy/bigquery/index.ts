/**
 * BigQuery datasets and tables of CloudAct: their one definition (`tables.ts`) and the
 * idempotent code that creates or verifies them (`ensure.ts`). Used by onboarding, the
 * demo seed, the audit log, the costs function, `ensureCentral.ts` and the tests.
 */
export {
  CENTRAL_DATASET,
  LLM_USAGE_DAILY,
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

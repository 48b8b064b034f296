/**
 * Runs of `bq:migrate`: every `--execute` has a run id, and each backup it
 * keeps carries that id as the label `bqmigrate_run`, so the tables a run
 * migrated are known afterwards from BigQuery alone, and `--rollback` restores
 * exactly one run's tables (the latest, or `--run ID`) and leaves every other
 * backup alone. The backup also carries the original table's description and
 * labels (a copy job does not bring them along), which a restore puts back.
 */
import { randomUUID } from 'node:crypto';
import type { BigQuery, TableMetadata } from '@google-cloud/bigquery';
import { currentLayout } from './migrateLayout.js';

/** The label that names the run a backup belongs to. */
export const RUN_LABEL = 'bqmigrate_run';

/** The run of a backup made before backups were labelled. */
export const UNLABELLED_RUN = 'unlabelled';

/** What a run id may look like: a label value (lower case, digits, `_`, `-`, at most 63 characters). */
export const RUN_ID_PATTERN = /^[a-z0-9_-]{1,63}$/;

/** A new run id: the UTC start time (so ids sort by time) and a random suffix, e.g. `20261205t221400z-1a2b3c4d`. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'z').toLowerCase();
  return `${stamp}-${randomUUID().slice(0, 8)}`;
}

/** The run a backup belongs to. */
export function runOf(backup: TableMetadata): string {
  return backup.labels?.[RUN_LABEL] ?? UNLABELLED_RUN;
}

/** The latest of some runs (an unlabelled backup is older than any labelled one). */
export function latestRun(runs: Iterable<string>): string | undefined {
  const all = [...new Set(runs)];
  const labelled = all.filter((r) => r !== UNLABELLED_RUN).sort();
  return labelled.at(-1) ?? all[0];
}

/** Labels without the run label. */
export function withoutRunLabel(labels: Record<string, string> | undefined): Record<string, string> {
  const out = { ...labels };
  delete out[RUN_LABEL];
  return out;
}

/**
 * Marks `backupId` as `runId`'s backup of a table whose metadata was `original`:
 * the run label, the original's description and labels, and its
 * `require_partition_filter` (stated rather than trusted to the copy job).
 */
export async function labelBackup(bq: BigQuery, datasetId: string, backupId: string, runId: string, original: TableMetadata): Promise<void> {
  const patch: TableMetadata = { labels: { ...withoutRunLabel(original.labels), [RUN_LABEL]: runId } };
  if (original.description) patch.description = original.description;
  if (original.timePartitioning) patch.requirePartitionFilter = currentLayout(original).requirePartitionFilter;
  await bq.dataset(datasetId).table(backupId).setMetadata(patch);
}

/** Moves a backup to another run (a run that reuses an interrupted run's backup owns it). */
export async function relabelBackup(bq: BigQuery, datasetId: string, backupId: string, runId: string): Promise<void> {
  await bq.dataset(datasetId).table(backupId).setMetadata({ labels: { [RUN_LABEL]: runId } });
}

/**
 * Gives a table restored by copying its backup the backup's description,
 * labels (without the run label) and `require_partition_filter`.
 */
export async function restoreAttributes(bq: BigQuery, datasetId: string, tableId: string, backup: TableMetadata): Promise<void> {
  // A null label is removed by tables.patch; the copy may or may not have brought the run label along.
  const labels: Record<string, string | null> = { ...withoutRunLabel(backup.labels), [RUN_LABEL]: null };
  const patch: Record<string, unknown> = { labels };
  if (backup.description) patch.description = backup.description;
  if (backup.timePartitioning) patch.requirePartitionFilter = currentLayout(backup).requirePartitionFilter;
  await bq.dataset(datasetId).table(tableId).setMetadata(patch);
}

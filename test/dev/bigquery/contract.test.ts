/**
 * Contract test: the SAME conformance cases the local endpoint passes, run
 * against real BigQuery, so the local endpoint can be checked for drift.
 *
 * Runs only when both BIGQUERY_PROJECT_ID and GOOGLE_APPLICATION_CREDENTIALS
 * are set; otherwise the suite is skipped with the reason printed, and no
 * network call is made.
 */
import { existsSync } from 'node:fs';
import { BigQuery } from '@google-cloud/bigquery';
import { describe } from 'vitest';
import { defineByteEstimateConformanceCases } from './bytesConformance.js';
import { defineMergeConformanceCases } from './mergeConformance.js';
import { defineConformanceCases, definePartitionFilterConformanceCases, defineScriptConformanceCases } from './conformance.js';
import { defineLoadConformanceCases } from './loadConformance.js';

const projectId = process.env.BIGQUERY_PROJECT_ID;
const credentials = process.env.GOOGLE_APPLICATION_CREDENTIALS;
const enabled = Boolean(projectId && credentials && existsSync(credentials));

if (!enabled) {
  console.log('contract.test.ts skipped: set BIGQUERY_PROJECT_ID and GOOGLE_APPLICATION_CREDENTIALS to run against real BigQuery');
}

/** A dataset name unique to this run, so parallel runs never collide. */
const datasetId = `local_bq_contract_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;

(enabled ? describe : describe.skip)('real BigQuery (contract for the local endpoint)', () => {
  // Real jobs take seconds to schedule; allow for that in the slow cases.
  defineConformanceCases(() => new BigQuery({ projectId: projectId as string }), datasetId, { slowCaseTimeoutMs: 60_000 });
  defineScriptConformanceCases(() => new BigQuery({ projectId: projectId as string }), `${datasetId}_scripts`);
  definePartitionFilterConformanceCases(() => new BigQuery({ projectId: projectId as string }), `${datasetId}_partition_filter`);
  defineByteEstimateConformanceCases(() => new BigQuery({ projectId: projectId as string }), `${datasetId}_bytes`);
  defineMergeConformanceCases(() => new BigQuery({ projectId: projectId as string }), `${datasetId}_merge`);
  defineLoadConformanceCases(() => new BigQuery({ projectId: projectId as string }), `${datasetId}_loads`);
});

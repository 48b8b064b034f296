import type { BigQuery } from '@google-cloud/bigquery';
import {
  centralDataset,
  ensureDatasetDefinition,
  orgDataset,
  SchemaDriftError,
  type EnsureReport,
  type ProvisionStep,
} from '../../shared/analytics/index.js';
import { bigQueryConfig, getBigQuery } from '../../shared/bigquery/index.js';
import { InternalError, isAppError, UnavailableError } from '../../shared/errors/index.js';
import { log } from '../../shared/log/index.js';
import type { AnalyticsProvisioner, OnboardedOrg } from './provision.js';

export type { ProvisionStep } from '../../shared/analytics/index.js';

export interface BigQueryProvisionerOptions {
  /** @default the instance's lazy client (`getBigQuery`) */
  client?: () => Promise<BigQuery>;
  /**
   * Runs before each dataset/table step, in order (central dataset, its tables, the org's
   * dataset, its tables). Tests throw from it to fail onboarding at a chosen step.
   */
  beforeStep?: (step: ProvisionStep) => Promise<void> | void;
}

/**
 * The BigQuery side of onboarding: the central dataset (audit logs, pipeline history) and
 * the org's own `org_<slug>` dataset with its tables, labelled `{org, managed_by}`.
 *
 * Every step is idempotent (create, or on 409 verify and patch), so a failed onboarding is
 * finished by the same request again: the orgs route leaves the org in `onboarding` until
 * this resolves, and a retry runs this again over whatever the first attempt made.
 *
 * Reads the BigQuery settings when built, so the function refuses to start without them.
 */
export function createBigQueryProvisioner({ client = getBigQuery, beforeStep }: BigQueryProvisionerOptions = {}): AnalyticsProvisioner {
  const { location } = bigQueryConfig();
  // Once ensured, the central dataset is not re-checked by this instance: it is shared by
  // every org and nothing we run deletes it, so re-verifying on every onboarding would
  // cost six API calls for nothing.
  let centralReady = false;

  return {
    async provision(org: OnboardedOrg, signal: AbortSignal): Promise<void> {
      const started = performance.now();
      const reports: EnsureReport[] = [];
      try {
        const bq = await client();
        if (!centralReady) {
          reports.push(await ensureDatasetDefinition(bq, centralDataset(), { location, signal, beforeStep }));
          centralReady = true;
        }
        reports.push(await ensureDatasetDefinition(bq, orgDataset(org.org_slug), { location, signal, beforeStep }));
      } catch (error) {
        throw provisioningError(org, error);
      }
      log.info('Provisioned the org in BigQuery', {
        org_slug: org.org_slug,
        duration_ms: Math.round(performance.now() - started),
        datasets: reports,
      });
    },
  };
}

/**
 * Deadline errors pass through (504). Drift needs an operator (500, details logged, not
 * sent). Anything else is transient as far as the caller can tell: 503 with Retry-After,
 * and the message says how to finish.
 */
function provisioningError(org: OnboardedOrg, error: unknown): Error {
  if (isAppError(error)) return error;
  if (error instanceof SchemaDriftError) {
    return new InternalError(`BigQuery resources of org ${org.org_slug} differ from their definition`, error);
  }
  return new UnavailableError(
    `The analytics storage of org ${org.org_slug} could not be created yet; send the same onboarding request again to finish`,
    { cause: error, retryAfterSeconds: 5 },
  );
}

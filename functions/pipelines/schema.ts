import * as z from 'zod';
import { calendarDay, cursorParam, limitParam, pageSchema, timestamp } from '../../shared/http/index.js';
import { isoDate } from '../../shared/pipelines/index.js';

/** `POST /v1/pipelines/{pipeline_id}/runs` path: the id's shape only; which ids exist is the org's. */
export const triggerParams = z.strictObject({
  pipeline_id: z.string().regex(/^[a-z][a-z0-9_]{1,60}$/, { error: 'must be a pipeline id such as demo_usage_daily' }),
});

/** The trigger body: `date` is optional (default yesterday, UTC); an empty body is `{}`. */
export const triggerBody = z.strictObject({ date: isoDate.optional() }).optional();

export const runParams = z.strictObject({ run_id: z.uuid({ error: 'must be a run id (UUID)' }) });

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;

export const listQuery = z.strictObject({
  status: z.enum(RUN_STATUSES).optional(),
  pipeline_id: triggerParams.shape.pipeline_id.optional(),
  limit: limitParam,
  cursor: cursorParam,
});

/** `Idempotency-Key`: 1–200 printable ASCII characters (API.md). */
export const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,200}$/;

/** The `Idempotency-Key` request header, as the trigger documents and checks it. */
export const idempotencyKeyHeader = {
  description:
    'Optional. A repeat with the same key within 24 h returns the first answer (same status and body, with `Idempotent-Replayed: true`) and triggers nothing; the same key with another body is 409.',
  schema: z.string().regex(IDEMPOTENCY_KEY),
};

/** `POST /v1/pipelines/{pipeline_id}/runs`: the run was queued and handed to the topic. */
export const queuedRun = z.object({ run_id: z.uuid(), status: z.literal('queued') });

/** A run as the API shows it (API.md). */
export const runView = z.object({
  run_id: z.uuid(),
  pipeline_id: z.string(),
  date: calendarDay.describe('The usage day the run loads'),
  status: z.enum(RUN_STATUSES),
  attempts: z.int(),
  rows_loaded: z.number(),
  cost_usd: z.number().describe('Rounded half-even to 6 places'),
  unpriced_rows: z.number(),
  error: z.string().nullable().describe('A safe message, never a credential or a stack'),
  created_at: timestamp,
  started_at: timestamp.nullable(),
  finished_at: timestamp.nullable(),
});

/** `GET /v1/pipelines/runs`: newest first. */
export const runPage = pageSchema(runView);

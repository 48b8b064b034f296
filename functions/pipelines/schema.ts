import { z } from 'zod';
import { cursorParam, limitParam } from '../../shared/http/index.js';
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

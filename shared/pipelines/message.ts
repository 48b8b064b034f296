import * as z from 'zod';

/** The topic the pipelines function publishes runs to, and the worker consumes. */
export const PIPELINE_RUNS_TOPIC = 'pipeline-runs';
/** Where Pub/Sub forwards a run message after its last delivery attempt. */
export const PIPELINE_RUNS_DEAD_LETTER_TOPIC = 'pipeline-runs-dead';
/** Cloud Scheduler's tick for the maintenance function. */
export const MAINTENANCE_TICKS_TOPIC = 'maintenance-ticks';

/** `YYYY-MM-DD` that is a real calendar day. */
export const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date as YYYY-MM-DD' })
  .refine((s) => {
    const ms = Date.parse(`${s}T00:00:00Z`);
    return !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(s);
  }, { error: 'must be a real calendar date' });

/** The data of a `pipeline-runs` message (API.md). */
export const pipelineRunMessage = z.strictObject({
  run_id: z.uuid(),
  org_slug: z.string().regex(/^[a-z][a-z0-9_]{2,39}$/),
  pipeline_id: z.string().regex(/^[a-z][a-z0-9_]{1,60}$/),
  date: isoDate,
});

export type PipelineRunMessage = z.infer<typeof pipelineRunMessage>;

import * as z from 'zod';
import { calendarDay } from '../../shared/http/index.js';

/** `GET /v1/quota`: today's (UTC) pipeline counters against the plan's limits. */
export const quotaView = z.object({
  org_slug: z.string(),
  date: calendarDay.describe('Today, UTC: the day the counters are for'),
  pipelines_run_today: z.int(),
  daily_limit: z.int().describe('Pipeline runs a day on the org’s plan'),
  remaining_today: z.int(),
  concurrent_running: z.int().describe('Runs queued or running now'),
  concurrent_limit: z.int(),
});

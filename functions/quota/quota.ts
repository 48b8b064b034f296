import type { z } from 'zod';
import type { Tenant } from '../../shared/auth/index.js';
import { getDb } from '../../shared/db/index.js';
import { leaseIsLive } from '../../shared/pipelines/index.js';
import type { quotaView } from './schema.js';

export type QuotaView = z.output<typeof quotaView>;

/** Today's (UTC) counters against the plan's limits, in one round trip. */
export async function loadQuota(tenant: Tenant): Promise<QuotaView> {
  const db = await getDb();
  const { rows } = await db.query<{ date: string; pipelines_run: number; daily: number; concurrent: number; running: number }>(
    `SELECT to_char((now() AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS date,
            COALESCE(q.pipelines_run, 0) AS pipelines_run,
            p.daily_pipeline_runs AS daily, p.concurrent_pipelines AS concurrent,
            (SELECT count(*)::int FROM pipeline_runs r WHERE r.org_id = o.id AND ${leaseIsLive('r')}) AS running
       FROM orgs o
       JOIN plan_limits p ON p.plan = o.plan
       LEFT JOIN usage_quotas q ON q.org_id = o.id AND q.usage_date = (now() AT TIME ZONE 'UTC')::date
      WHERE o.id = $1`,
    [tenant.orgId],
  );
  const row = rows[0] ?? { date: new Date().toISOString().slice(0, 10), pipelines_run: 0, daily: 0, concurrent: 0, running: 0 };
  return {
    org_slug: tenant.orgSlug,
    date: row.date,
    pipelines_run_today: row.pipelines_run,
    daily_limit: row.daily,
    remaining_today: Math.max(0, row.daily - row.pipelines_run),
    concurrent_running: row.running,
    concurrent_limit: row.concurrent,
  };
}

import { getDb, type SqlParam } from '../../shared/db/index.js';

/** One delivery attempt, as `GET /v1/alerts` shows it. */
export interface DeliveryView {
  attempt: number;
  attempted_at: string;
  /** The receiver's status; null when no answer came. */
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

/** A raised alert with its delivery state. */
export interface AlertView {
  id: string;
  budget_id: string;
  type: 'budget.threshold_crossed' | 'budget.forecast_exceeded';
  period_start: string;
  threshold_pct: number;
  spent_usd: number;
  forecast_usd: number;
  status: 'pending' | 'delivered' | 'failing' | 'dead_lettered';
  attempts: number;
  last_error: string | null;
  last_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
  deliveries: DeliveryView[];
  /** Keyset position, removed before answering. */
  created_micros: string;
}

interface AlertRow {
  id: string;
  budget_id: string;
  payload: string;
  period_start: string;
  threshold_pct: number;
  status: AlertView['status'];
  attempts: number;
  last_error: string | null;
  last_attempt_at: Date | null;
  delivered_at: Date | null;
  created_at: Date;
  created_micros: string;
  deliveries: { attempt: number; attempted_at: string; status_code: number | null; error: string | null; duration_ms: number }[];
}

/**
 * The org's alerts, newest first (keyset on `created_at, id`), each with every delivery
 * attempt. The amounts are the ones the alert was raised (and delivered) with.
 */
export async function listAlerts(
  orgId: string,
  { budgetId, status, after, take }: { budgetId: string | undefined; status: string | undefined; after: { createdMicros: string; id: string } | undefined; take: number },
): Promise<AlertView[]> {
  const params: SqlParam[] = [orgId];
  const where = ['a.org_id = $1'];
  if (budgetId !== undefined) {
    params.push(budgetId);
    where.push(`a.budget_id = $${params.length}::uuid`);
  }
  if (status !== undefined) {
    params.push(status);
    where.push(`a.status = $${params.length}`);
  }
  if (after !== undefined) {
    params.push(after.createdMicros, after.id);
    where.push(`(a.created_at, a.id) < (timestamptz 'epoch' + $${params.length - 1}::bigint * interval '1 microsecond', $${params.length}::uuid)`);
  }
  params.push(take);
  const db = await getDb();
  const { rows } = await db.query<AlertRow>(
    `SELECT a.id, a.budget_id, a.payload, a.period_start::text AS period_start, a.threshold_pct, a.status, a.attempts, a.last_error,
            a.last_attempt_at, a.delivered_at, a.created_at, (extract(epoch FROM a.created_at) * 1e6)::bigint::text AS created_micros,
            coalesce((SELECT json_agg(json_build_object('attempt', t.attempt, 'attempted_at', t.attempted_at, 'status_code', t.status_code,
                                                        'error', t.error, 'duration_ms', t.duration_ms) ORDER BY t.attempt)
                        FROM budget_alert_attempts t WHERE t.alert_id = a.id), '[]'::json) AS deliveries
       FROM budget_alerts a WHERE ${where.join(' AND ')}
      ORDER BY a.created_at DESC, a.id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map((row) => {
    const payload = JSON.parse(row.payload) as { type: AlertView['type']; spent_usd: number; forecast_usd: number };
    return {
      id: row.id,
      budget_id: row.budget_id,
      type: payload.type,
      period_start: row.period_start,
      threshold_pct: row.threshold_pct,
      spent_usd: payload.spent_usd,
      forecast_usd: payload.forecast_usd,
      status: row.status,
      attempts: row.attempts,
      last_error: row.last_error,
      last_attempt_at: row.last_attempt_at?.toISOString() ?? null,
      delivered_at: row.delivered_at?.toISOString() ?? null,
      created_at: row.created_at.toISOString(),
      deliveries: row.deliveries.map((d) => ({ ...d, attempted_at: new Date(d.attempted_at).toISOString() })),
      created_micros: row.created_micros,
    };
  });
}

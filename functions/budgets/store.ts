import { BUDGET_COLUMNS, budgetView, type BudgetRow, type BudgetView } from '../../shared/budgets/index.js';
import { getDb, type SqlParam } from '../../shared/db/index.js';
import type { CreateBody, PatchBody } from './schema.js';

/** The org's budgets after `afterId`, by id: a keyset page. */
export async function listBudgets(orgId: string, { afterId, take }: { afterId: string | undefined; take: number }): Promise<BudgetView[]> {
  const db = await getDb();
  const params: SqlParam[] = [orgId, take];
  if (afterId !== undefined) params.push(afterId);
  const { rows } = await db.query<BudgetRow>(
    `SELECT ${BUDGET_COLUMNS} FROM budgets WHERE org_id = $1 ${afterId === undefined ? '' : 'AND id > $3::uuid'} ORDER BY id LIMIT $2`,
    params,
  );
  return rows.map(budgetView);
}

export async function getBudget(orgId: string, id: string): Promise<BudgetRow | undefined> {
  const db = await getDb();
  const { rows } = await db.query<BudgetRow>(`SELECT ${BUDGET_COLUMNS} FROM budgets WHERE org_id = $1 AND id = $2`, [orgId, id]);
  return rows[0];
}

export async function insertBudget(orgId: string, b: CreateBody): Promise<BudgetView> {
  const db = await getDb();
  const { rows } = await db.query<BudgetRow>(
    `INSERT INTO budgets (org_id, name, amount_usd, period, scope, thresholds_pct, forecast, webhook_url)
     VALUES ($1, $2, $3::numeric, $4, $5::jsonb, $6::integer[], $7, $8) RETURNING ${BUDGET_COLUMNS}`,
    [orgId, b.name, b.amount_usd, b.period, JSON.stringify(b.scope), b.thresholds_pct, b.forecast, b.webhook_url],
  );
  return budgetView(rows[0] as BudgetRow);
}

/**
 * Applies a patch in one statement: each column takes the patch's value when it has one
 * (`$n IS NULL` keeps the stored value; no field of a budget is nullable). Undefined when
 * the org has no such budget.
 */
export async function updateBudget(orgId: string, id: string, p: PatchBody): Promise<BudgetView | undefined> {
  const db = await getDb();
  const { rows } = await db.query<BudgetRow>(
    `UPDATE budgets SET
       name = coalesce($3, name),
       amount_usd = coalesce($4::numeric, amount_usd),
       period = coalesce($5, period),
       scope = coalesce($6::jsonb, scope),
       thresholds_pct = coalesce($7::integer[], thresholds_pct),
       forecast = coalesce($8, forecast),
       webhook_url = coalesce($9, webhook_url),
       updated_at = now()
     WHERE org_id = $1 AND id = $2 RETURNING ${BUDGET_COLUMNS}`,
    [
      orgId,
      id,
      p.name ?? null,
      p.amount_usd ?? null,
      p.period ?? null,
      p.scope === undefined ? null : JSON.stringify(p.scope),
      p.thresholds_pct ?? null,
      p.forecast ?? null,
      p.webhook_url ?? null,
    ],
  );
  return rows[0] === undefined ? undefined : budgetView(rows[0]);
}

/** Deletes the budget and, with it, its alerts. False when the org has no such budget. */
export async function deleteBudget(orgId: string, id: string): Promise<boolean> {
  const db = await getDb();
  const { rowCount } = await db.query(`DELETE FROM budgets WHERE org_id = $1 AND id = $2`, [orgId, id]);
  return (rowCount ?? 0) > 0;
}

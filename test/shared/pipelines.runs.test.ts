import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { getDb } from '../../shared/db/index.js';
import { claimRun, finishRun, releaseRun, type Claim } from '../../shared/pipelines/index.js';
import { closeFunctionRuntime, closeTestDb, createTenant, testDb, type TestTenant } from '../helpers/tenants.js';

/*
 * The worker's claim against a real PostgreSQL: the per-org concurrency limit under
 * concurrent deliveries, leases, takeover of an expired lease, duplicates.
 */

afterAll(async () => {
  await closeFunctionRuntime();
  await closeTestDb();
});

async function queueRuns(tenant: TestTenant, count: number): Promise<{ run_id: string; org_slug: string; pipeline_id: string; date: string }[]> {
  const messages = [];
  for (let i = 0; i < count; i += 1) {
    const date = `2026-10-${String(i + 1).padStart(2, '0')}`;
    const { rows } = await testDb().query<{ id: string }>(
      `INSERT INTO pipeline_runs (org_id, pipeline_id, run_date, status) VALUES ($1, 'demo_usage_daily', $2, 'queued') RETURNING id`,
      [tenant.orgId, date],
    );
    messages.push({ run_id: (rows[0] as { id: string }).id, org_slug: tenant.orgSlug, pipeline_id: 'demo_usage_daily', date });
  }
  return messages;
}

describe('claiming a run', () => {
  it.each([
    { plan: 'free', limit: 1 },
    { plan: 'pro', limit: 3 },
  ])('never lets more than the $plan plan\'s $limit run at once, however many deliveries race', async ({ plan, limit }) => {
    const tenant = await createTenant({ slugPrefix: 'claims', plan });
    const messages = await queueRuns(tenant, 8);
    const db = await getDb();

    // Two deliveries of every run, all at once, on the function's own pool (≤ 3 connections).
    const claims: Claim[] = await Promise.all([...messages, ...messages].map((m) => claimRun(db, m, 60_000)));

    const claimed = claims.filter((c) => c.kind === 'claimed');
    expect(claimed).toHaveLength(limit);
    expect(claims.filter((c) => c.kind === 'org-busy').length + claims.filter((c) => c.kind === 'leased').length).toBe(16 - limit);
    const { rows } = await testDb().query<{ n: number }>(`SELECT count(*)::int AS n FROM pipeline_runs WHERE org_id = $1 AND status = 'running'`, [tenant.orgId]);
    expect(rows[0]?.n).toBe(limit);
  });

  it('tells a duplicate of a finished run, a duplicate while a live lease holds the run, and a redelivery of the lease holder\'s own message apart', async () => {
    const tenant = await createTenant({ slugPrefix: 'claims', plan: 'pro' });
    const [message] = await queueRuns(tenant, 1);
    const db = await getDb();
    const first = await claimRun(db, message!, 60_000, 'msg-1');
    expect(first.kind).toBe('claimed');
    // A redelivery of the message whose delivery holds the lease: that delivery never answered.
    expect(await claimRun(db, message!, 60_000, 'msg-1')).toMatchObject({ kind: 'leased', sameMessage: true });

    const other = await claimRun(db, message!, 60_000, 'msg-2');
    expect(other).toMatchObject({ kind: 'leased', sameMessage: false });
    // The lease was taken for 60 s a moment ago: what is left of it is said.
    expect((other as { leaseLeftMs: number }).leaseLeftMs).toBeGreaterThan(50_000);
    expect((other as { leaseLeftMs: number }).leaseLeftMs).toBeLessThanOrEqual(60_000);

    const token = (first as Extract<Claim, { kind: 'claimed' }>).token;
    await finishRun(db, message!.run_id, token, { status: 'succeeded', rowsLoaded: 3, costUsd: '1.5', unpricedRows: 0, error: null });
    expect(await claimRun(db, message!, 60_000)).toEqual({ kind: 'finished', status: 'succeeded' });
  });

  it('takes over a run whose lease expired, counting the attempt; the old lease can no longer finish it', async () => {
    const tenant = await createTenant({ slugPrefix: 'claims', plan: 'free' });
    const [message] = await queueRuns(tenant, 1);
    const db = await getDb();
    const first = (await claimRun(db, message!, 50)) as Extract<Claim, { kind: 'claimed' }>;
    await new Promise((resolve) => setTimeout(resolve, 100));

    const second = await claimRun(db, message!, 60_000);

    expect(second).toMatchObject({ kind: 'claimed', attempt: 2 });
    expect(await finishRun(db, message!.run_id, first.token, { status: 'succeeded', rowsLoaded: 1, costUsd: '0', unpricedRows: 0, error: null })).toBeUndefined();
    const { rows } = await testDb().query<{ status: string; attempts: number }>('SELECT status, attempts FROM pipeline_runs WHERE id = $1', [message!.run_id]);
    expect(rows[0]).toEqual({ status: 'running', attempts: 2 });
  });

  it('a released run frees its slot for the org\'s next run, and stays queued for its redelivery', async () => {
    const tenant = await createTenant({ slugPrefix: 'claims', plan: 'free' });
    const [a, b] = await queueRuns(tenant, 2);
    const db = await getDb();
    const claimA = (await claimRun(db, a!, 60_000)) as Extract<Claim, { kind: 'claimed' }>;
    expect((await claimRun(db, b!, 60_000)).kind).toBe('org-busy');

    expect(await releaseRun(db, a!.run_id, claimA.token, 'A provider or backend was unavailable')).toBe(true);

    expect((await claimRun(db, b!, 60_000)).kind).toBe('claimed');
    const { rows } = await testDb().query<{ status: string; error: string }>('SELECT status, error FROM pipeline_runs WHERE id = $1', [a!.run_id]);
    expect(rows[0]).toEqual({ status: 'queued', error: 'A provider or backend was unavailable' });
  });

  it('answers missing for a run that does not match its message (another org, another date, unknown id)', async () => {
    const tenant = await createTenant({ slugPrefix: 'claims', plan: 'pro' });
    const other = await createTenant({ slugPrefix: 'claims', plan: 'pro' });
    const [message] = await queueRuns(tenant, 1);
    const db = await getDb();

    for (const forged of [{ ...message!, org_slug: other.orgSlug }, { ...message!, date: '2026-09-30' }, { ...message!, run_id: randomUUID() }]) {
      expect(await claimRun(db, forged, 60_000)).toEqual({ kind: 'missing' });
    }
  });
});

/**
 * The org load lock (`shared/pipelines`, `withOrgLoadLock`) against a real PostgreSQL: one
 * holder per org across pools (instances), no connection held while held or waited for, a
 * dead holder's lease lapsing, bounded waits ending in a retryable UNAVAILABLE, and a
 * release that cannot mask the work's own outcome.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Db, type SqlParam } from '../../shared/db/index.js';
import { Deadline, runWithDeadline } from '../../shared/deadline/index.js';
import { UnavailableError } from '../../shared/errors/index.js';
import { withOrgLoadLock, type OrgLoadLockOptions } from '../../shared/pipelines/index.js';
import { captureLogs } from '../fixtures/runtime/logs.js';
import { closeTestDb, createTenant, testDb } from '../helpers/tenants.js';

/** Two instances of a function whose pool has a single connection, as the worker's. */
let instanceA: Db;
let instanceB: Db;

beforeAll(async () => {
  const connectionString = process.env.DATABASE_URL as string;
  instanceA = await createPool({ connectionString, max: 1, applicationName: 'lock-test-a' });
  instanceB = await createPool({ connectionString, max: 1, applicationName: 'lock-test-b' });
});

afterAll(async () => {
  await Promise.allSettled([instanceA?.close(), instanceB?.close()]);
  await closeTestDb();
});

const never = new AbortController().signal;
const options = (extra: Partial<OrgLoadLockOptions> = {}): OrgLoadLockOptions => ({ tier: 'batch', signal: never, maxWaitMs: 20_000, ...extra });

async function orgId(): Promise<string> {
  return (await createTenant({ slugPrefix: 'lock', plan: 'pro' })).orgId;
}

/** A lease as a holder that died leaves it: live for `ms` more (negative: already lapsed). */
async function leaseHeldElsewhere(org: string, ms: number): Promise<void> {
  await testDb().query(`INSERT INTO org_load_locks (org_id, holder, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3::float8 / 1000))`, [org, randomUUID(), ms]);
}

describe('withOrgLoadLock', () => {
  it('lets one load of an org run at a time across instances, while another org loads meanwhile; the work may use the single connection', async () => {
    const [busy, other] = [await orgId(), await orgId()];
    let inside = 0;
    let most = 0;
    const spans: Record<string, [number, number][]> = { busy: [], other: [] };
    const load = (db: Db, org: string, name: 'busy' | 'other') =>
      withOrgLoadLock(db, org, options({ pollMs: 10, maxPollMs: 50 }), async () => {
        const start = performance.now();
        if (name === 'busy') most = Math.max(most, (inside += 1));
        // The pool's one connection is free: the lock holds none while held.
        await db.query('SELECT pg_sleep(0.05)');
        if (name === 'busy') inside -= 1;
        spans[name]?.push([start, performance.now()]);
      });

    await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => load(i % 2 === 0 ? instanceA : instanceB, busy, 'busy')),
      load(instanceB, other, 'other'),
    ]);

    expect(most).toBe(1);
    expect(spans.busy).toHaveLength(6);
    // The other org did not queue behind the busy one: it ran before the busy org's last load ended.
    const lastBusyEnd = Math.max(...(spans.busy ?? []).map(([, end]) => end));
    expect((spans.other?.[0]?.[1] ?? Infinity) < lastBusyEnd).toBe(true);
    const { rows } = await testDb().query('SELECT 1 FROM org_load_locks WHERE org_id = ANY($1)', [[busy, other]]);
    expect(rows).toHaveLength(0);
  });

  it('takes over the lease of a holder that died once it lapses', async () => {
    const org = await orgId();
    await leaseHeldElsewhere(org, 300);
    const started = performance.now();

    await withOrgLoadLock(instanceA, org, options({ pollMs: 20, maxPollMs: 50 }), async () => undefined);

    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('leases for the budget of its tier within the invocation\'s deadline, plus a few seconds for the job to start', async () => {
    const org = await orgId();
    const deadline = new Deadline({ timeoutMs: 20_000, safetyMarginMs: 1_000 });

    const leaseS = await runWithDeadline(deadline, () =>
      withOrgLoadLock(instanceA, org, options(), async () => {
        const { rows } = await testDb().query<{ s: number }>('SELECT extract(epoch FROM expires_at - now())::float8 AS s FROM org_load_locks WHERE org_id = $1', [org]);
        return rows[0]?.s ?? 0;
      }),
    );

    // min(batch 300 s, 19 s left) + 5 s.
    expect(leaseS).toBeGreaterThan(22);
    expect(leaseS).toBeLessThanOrEqual(24.5);
  });

  it('gives up with a retryable UNAVAILABLE after maxWaitMs while another load holds the org, having run nothing', async () => {
    const org = await orgId();
    await leaseHeldElsewhere(org, 60_000);
    let ran = false;
    const started = performance.now();

    const error = await withOrgLoadLock(instanceA, org, options({ maxWaitMs: 400 }), async () => (ran = true)).catch((e: unknown) => e);

    const waited = performance.now() - started;
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as UnavailableError).retryable).toBe(true);
    expect((error as UnavailableError).retryAfterSeconds).toBeGreaterThan(0);
    expect(ran).toBe(false);
    expect(waited).toBeGreaterThanOrEqual(400);
    expect(waited).toBeLessThan(2_000);
  });

  it('stops waiting as soon as the invocation is cancelled, with UNAVAILABLE', async () => {
    const org = await orgId();
    await leaseHeldElsewhere(org, 60_000);
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(new Error('shutting down')), 150);
    const started = performance.now();

    const error = await withOrgLoadLock(instanceA, org, options({ signal: cancel.signal, maxPollMs: 5_000 }), async () => undefined).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UnavailableError);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('releases when the work fails: the caller sees the work\'s error and the next load takes the org at once', async () => {
    const org = await orgId();

    const error = await withOrgLoadLock(instanceA, org, options(), async () => {
      throw new Error('the load failed');
    }).catch((e: unknown) => e);
    const started = performance.now();
    await withOrgLoadLock(instanceB, org, options(), async () => undefined);

    expect((error as Error).message).toBe('the load failed');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('logs a failed release at ERROR and never lets it mask the work\'s outcome', async () => {
    const org = await orgId();
    // The lock uses only `query`: the rest of the handle is the real pool's.
    const failingRelease: Db = {
      ...instanceA,
      query: async (sql: string, params?: readonly SqlParam[]) => {
        if (sql.startsWith('DELETE')) throw new Error('connection lost');
        return instanceA.query(sql, params);
      },
    };
    const logs = captureLogs('INFO');
    try {
      const result = await withOrgLoadLock(failingRelease, org, options(), async () => 'loaded');
      const error = await withOrgLoadLock(failingRelease, await orgId(), options(), async () => {
        throw new Error('the load failed');
      }).catch((e: unknown) => e);

      expect(result).toBe('loaded');
      expect((error as Error).message).toBe('the load failed');
      expect(logs.find('ERROR', 'Releasing the org load lock failed')).toHaveLength(2);
    } finally {
      logs.restore();
    }
  });
});

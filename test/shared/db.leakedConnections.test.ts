import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPool, findLeakedConnections, terminateLeakedConnections, type Db } from '../../shared/db/index.js';
import { captureLogs, type CapturedLogs } from '../fixtures/runtime/logs.js';
import { createLeakDatabase, type LeakDatabase, type OpenedBackend } from '../fixtures/runtime/leakDatabase.js';

/** The threshold the tests use: short, so backends are leaked after a short wait. */
const IDLE_SECONDS = 1;
/** Long enough past the threshold that every backend opened before it counts as leaked. */
const PAST_THRESHOLD_MS = 1300;

let leakDb: LeakDatabase;
let reaper: Db;
let logs: CapturedLogs;

beforeAll(async () => {
  leakDb = await createLeakDatabase('leak_reaper');
  // The maintenance function's view: its own pool, named like every function's.
  reaper = await createPool({ applicationName: 'maintenance:reaper1', connectionString: leakDb.url, max: 1 });
});

afterAll(async () => {
  await reaper.close();
  await leakDb.drop();
});

beforeEach(() => {
  logs = captureLogs('INFO');
});

afterEach(async () => {
  logs.restore();
  // Each test starts with no backend of the fresh database but the reaper's own.
  for (const b of await leakDb.backends()) {
    if (b.application_name !== reaper.applicationName) {
      // pg_terminate_backend from the reaper's own pool: a superuser in the test run.
      await reaper.query('SELECT pg_terminate_backend($1)', [b.pid]);
    }
  }
  await leakDb.waitGone((await leakDb.backends()).filter((b) => b.application_name !== reaper.applicationName).map((b) => b.pid));
});

/** Opens a backend left idle in an open transaction (optionally an aborted one). */
async function openIdleInTransaction(applicationName: string, aborted = false): Promise<OpenedBackend> {
  const backend = await leakDb.open(applicationName);
  await backend.client.query('BEGIN');
  await backend.client.query('SELECT 1');
  if (aborted) await backend.client.query('SELECT 1/0').catch(() => undefined);
  return backend;
}

describe('the leak reaper', () => {
  it("terminates exactly this app's idle backends and leaves its own, other applications', other users' and active ones", async () => {
    const app = [
      await leakDb.open('pricing:abc123'),
      await leakDb.open('quota:def'),
      await openIdleInTransaction('costs:0a1b2c3d'),
      await openIdleInTransaction('pipeline-worker:99', true),
    ];
    const others = [
      await leakDb.open('psql'),
      await leakDb.open('metabase'),
      await leakDb.open('pricing'),
      await leakDb.open('unknownfn:x'),
      await leakDb.open(''),
      await leakDb.open('pricing:other-user', { otherUser: true }),
    ];
    const busy = await leakDb.open('quota:busy');
    const sleeping = busy.client.query('SELECT pg_sleep(5)').catch((error: unknown) => error);
    await sleep(PAST_THRESHOLD_MS);

    const terminated = await terminateLeakedConnections(reaper, { idleSeconds: IDLE_SECONDS });

    expect(terminated.map((t) => t.applicationName).sort()).toEqual(app.map((b) => b.applicationName).sort());
    expect(terminated.map((t) => t.pid).sort()).toEqual(app.map((b) => b.pid).sort());
    expect(await leakDb.waitGone(app.map((b) => b.pid))).toBe(true);
    const alive = await leakDb.backends();
    expect(alive.map((b) => b.application_name).sort()).toEqual(
      [...others.map((b) => b.applicationName), 'quota:busy', reaper.applicationName].sort(),
    );
    expect(alive.find((b) => b.application_name === 'quota:busy')?.state).toBe('active');
    expect(alive.find((b) => b.application_name === 'pricing:other-user')?.usename).toBe(leakDb.otherUser);
    for (const b of app) expect(b.errors.map((e) => e.message).join()).toMatch(/terminating connection due to administrator command/);
    for (const b of others) expect(b.errors).toEqual([]);
    await reaper.query('SELECT pg_cancel_backend($1)', [busy.pid]);
    await sleeping;
  });

  it('logs each terminated backend with its pid, application_name, state and idle seconds', async () => {
    const idle = await leakDb.open('pricing:abc123');
    const inTransaction = await openIdleInTransaction('quota:def');
    await sleep(PAST_THRESHOLD_MS);

    await terminateLeakedConnections(reaper, { idleSeconds: IDLE_SECONDS });

    const lines = logs.find('WARNING', 'Terminated a leaked database connection');
    expect(lines.map(({ pid, application_name, state }) => ({ pid, application_name, state }))).toEqual(
      expect.arrayContaining([
        { pid: idle.pid, application_name: 'pricing:abc123', state: 'idle' },
        { pid: inTransaction.pid, application_name: 'quota:def', state: 'idle in transaction' },
      ]),
    );
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line.idle_seconds).toBeGreaterThanOrEqual(IDLE_SECONDS);
      expect(line.idle_seconds).toBeLessThan(30);
    }
  });

  it('lists, and terminates, nothing that has been idle for less than the threshold', async () => {
    const fresh = await leakDb.open('pricing:abc123');

    expect(await findLeakedConnections(reaper, { idleSeconds: 60 })).toEqual([]);
    expect(await terminateLeakedConnections(reaper, { idleSeconds: 60 })).toEqual([]);
    expect((await leakDb.backends()).map((b) => b.pid)).toContain(fresh.pid);
    expect(logs.find('WARNING', 'Terminated')).toEqual([]);
  });

  it('lists a leaked backend with its function, instance, state and idle time, and terminates nothing while listing', async () => {
    const idle = await leakDb.open('pipeline-worker:7f3e');
    await sleep(PAST_THRESHOLD_MS);

    const found = await findLeakedConnections(reaper, { idleSeconds: IDLE_SECONDS });

    expect(found).toEqual([
      {
        pid: idle.pid,
        applicationName: 'pipeline-worker:7f3e',
        functionName: 'pipeline-worker',
        instance: '7f3e',
        state: 'idle',
        idleSeconds: expect.any(Number) as number,
        backendStart: expect.any(String) as string,
      },
    ]);
    expect(found[0]?.idleSeconds).toBeGreaterThanOrEqual(IDLE_SECONDS);
    expect((await leakDb.backends()).map((b) => b.pid)).toContain(idle.pid);
  });

  it('terminates only the listed backends, and not one that became active after it was listed', async () => {
    const first = await leakDb.open('pricing:aaa');
    const woke = await leakDb.open('pricing:bbb');
    const unlisted = await leakDb.open('quota:ccc');
    await sleep(PAST_THRESHOLD_MS);
    const listed = (await findLeakedConnections(reaper, { idleSeconds: IDLE_SECONDS })).filter((c) => c.pid !== unlisted.pid);
    expect(listed.map((c) => c.pid).sort()).toEqual([first.pid, woke.pid].sort());
    // Between listing and terminating, one listed backend starts working again.
    const working = woke.client.query('SELECT pg_sleep(2)');
    await sleep(100);

    const terminated = await terminateLeakedConnections(reaper, { idleSeconds: IDLE_SECONDS, only: listed });

    expect(terminated.map((t) => t.pid)).toEqual([first.pid]);
    await working;
    expect(woke.errors).toEqual([]);
    expect((await leakDb.backends()).map((b) => b.pid)).toEqual(expect.arrayContaining([woke.pid, unlisted.pid]));
  });

  it('does not terminate a backend that reused a listed pid', async () => {
    const idle = await leakDb.open('pricing:abc123');
    await sleep(PAST_THRESHOLD_MS);
    const [listed] = await findLeakedConnections(reaper, { idleSeconds: IDLE_SECONDS });
    expect(listed?.pid).toBe(idle.pid);

    // Same pid, another backend: only the start time tells them apart.
    const impostor = { pid: idle.pid, backendStart: '2000-01-01 00:00:00+00' };
    const terminated = await terminateLeakedConnections(reaper, { idleSeconds: IDLE_SECONDS, only: [impostor] });

    expect(terminated).toEqual([]);
    expect((await leakDb.backends()).map((b) => b.pid)).toContain(idle.pid);
  });

  it.each([0, -5, Number.NaN, Number.POSITIVE_INFINITY])('refuses a threshold of %s seconds', async (idleSeconds) => {
    await expect(terminateLeakedConnections(reaper, { idleSeconds })).rejects.toThrow(RangeError);
    await expect(findLeakedConnections(reaper, { idleSeconds })).rejects.toThrow(RangeError);
  });
});

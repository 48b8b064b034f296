/**
 * `shared/auth/LastUsedBuffer`: API-key `last_used_at` writes batched into one statement,
 * due by size or age, never moving a time backwards, and kept when a flush fails.
 * Against the run's real PostgreSQL, through the runtime's own pool.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LastUsedBuffer } from '../../shared/auth/index.js';
import { getDb, type Db } from '../../shared/db/index.js';
import { captureLogs, type CapturedLogs } from '../fixtures/runtime/logs.js';
import { closeFunctionRuntime, closeTestDb, createTenant, testDb, type TestTenant } from '../helpers/tenants.js';

let tenants: TestTenant[];
let logs: CapturedLogs;

/** The runtime pool, with every statement sent through it counted. */
function countingDb(): { getDb: () => Promise<Db>; statements: () => number } {
  let statements = 0;
  return {
    statements: () => statements,
    getDb: async () => {
      const db = await getDb();
      return new Proxy(db, {
        get(target, property, receiver) {
          if (property === 'query') {
            return (...args: Parameters<Db['query']>) => {
              statements += 1;
              return target.query(...args);
            };
          }
          return Reflect.get(target, property, receiver) as unknown;
        },
      });
    },
  };
}

async function lastUsedAt(keyId: string): Promise<Date | null> {
  const { rows } = await testDb().query<{ last_used_at: Date | null }>('SELECT last_used_at FROM api_keys WHERE id = $1', [keyId]);
  return rows[0]?.last_used_at ?? null;
}

/** A clock the test moves by hand. */
function manualClock(start = Date.parse('2026-11-01T10:00:00.000Z')): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

beforeAll(async () => {
  tenants = await Promise.all(Array.from({ length: 4 }, () => createTenant({ slugPrefix: 'lastused' })));
});

beforeEach(async () => {
  logs = captureLogs('WARNING');
  await testDb().query('UPDATE api_keys SET last_used_at = NULL WHERE id = ANY($1::uuid[])', [tenants.map((t) => t.keyId)]);
});

afterEach(() => {
  logs.restore();
});

afterAll(async () => {
  await closeTestDb();
  await closeFunctionRuntime();
});

describe('LastUsedBuffer', () => {
  it('writes the uses of many keys in one statement, each key with its own time', async () => {
    const clock = manualClock();
    const buffer = new LastUsedBuffer({ now: clock.now });
    const db = countingDb();
    for (const [i, tenant] of tenants.entries()) {
      buffer.record(tenant.keyId);
      if (i < tenants.length - 1) clock.advance(1_000);
    }

    await buffer.flush(db.getDb);

    expect(db.statements()).toBe(1);
    expect(buffer.writes).toBe(1);
    expect(buffer.size).toBe(0);
    const times = await Promise.all(tenants.map((t) => lastUsedAt(t.keyId)));
    expect(times.map((t) => t?.toISOString())).toEqual([
      '2026-11-01T10:00:00.000Z',
      '2026-11-01T10:00:01.000Z',
      '2026-11-01T10:00:02.000Z',
      '2026-11-01T10:00:03.000Z',
    ]);
  });

  it('keeps only the latest use of a key that was used several times', async () => {
    const clock = manualClock();
    const buffer = new LastUsedBuffer({ now: clock.now });
    const [tenant] = tenants as [TestTenant];
    buffer.record(tenant.keyId);
    clock.advance(5_000);
    buffer.record(tenant.keyId);

    expect(buffer.size).toBe(1);
    await buffer.flush(getDb);

    expect((await lastUsedAt(tenant.keyId))?.toISOString()).toBe('2026-11-01T10:00:05.000Z');
  });

  it('never moves last_used_at backwards (a later use already written by another instance wins)', async () => {
    const [tenant] = tenants as [TestTenant];
    await testDb().query(`UPDATE api_keys SET last_used_at = '2026-11-01T12:00:00Z' WHERE id = $1`, [tenant.keyId]);
    const buffer = new LastUsedBuffer({ now: manualClock().now });
    buffer.record(tenant.keyId);

    await buffer.flush(getDb);

    expect((await lastUsedAt(tenant.keyId))?.toISOString()).toBe('2026-11-01T12:00:00.000Z');
  });

  it('ignores a key that no longer exists without failing the others', async () => {
    const [tenant] = tenants as [TestTenant];
    const buffer = new LastUsedBuffer();
    buffer.record(randomUUID());
    buffer.record(tenant.keyId);

    await buffer.flush(getDb);

    expect(await lastUsedAt(tenant.keyId)).toBeInstanceOf(Date);
    expect(buffer.writes).toBe(1);
  });

  it('is due once maxKeys keys are waiting, not before', () => {
    const buffer = new LastUsedBuffer({ maxKeys: 3, maxAgeMs: 60_000, now: manualClock().now });

    expect(buffer.isDue()).toBe(false);
    buffer.record('00000000-0000-4000-8000-000000000001');
    buffer.record('00000000-0000-4000-8000-000000000002');
    buffer.record('00000000-0000-4000-8000-000000000002');
    expect(buffer.isDue()).toBe(false);
    buffer.record('00000000-0000-4000-8000-000000000003');
    expect(buffer.isDue()).toBe(true);
  });

  it('is due once the oldest waiting use is maxAgeMs old, counted from the oldest, not the newest', () => {
    const clock = manualClock();
    const buffer = new LastUsedBuffer({ maxKeys: 100, maxAgeMs: 30_000, now: clock.now });
    buffer.record('00000000-0000-4000-8000-000000000001');

    clock.advance(20_000);
    buffer.record('00000000-0000-4000-8000-000000000002');
    clock.advance(9_999);
    expect(buffer.isDue()).toBe(false);
    clock.advance(1);
    expect(buffer.isDue()).toBe(true);
  });

  it('is not due with nothing waiting, however much time passed', () => {
    const clock = manualClock();
    const buffer = new LastUsedBuffer({ maxAgeMs: 1, now: clock.now });

    clock.advance(3_600_000);

    expect(buffer.isDue()).toBe(false);
  });

  it('starts the age over after a flush', async () => {
    const clock = manualClock();
    const buffer = new LastUsedBuffer({ maxAgeMs: 30_000, now: clock.now });
    const [a, b] = tenants as [TestTenant, TestTenant];
    buffer.record(a.keyId);
    clock.advance(30_000);
    await buffer.flush(getDb);

    buffer.record(b.keyId);
    clock.advance(29_000);

    expect(buffer.isDue()).toBe(false);
  });

  it('makes no statement when nothing is waiting', async () => {
    const buffer = new LastUsedBuffer();
    const db = countingDb();

    await buffer.flush(db.getDb);

    expect(db.statements()).toBe(0);
    expect(buffer.writes).toBe(0);
  });

  it('shares one write between flushes asked for at the same time', async () => {
    const buffer = new LastUsedBuffer();
    const db = countingDb();
    for (const tenant of tenants) buffer.record(tenant.keyId);

    await Promise.all([buffer.flush(db.getDb), buffer.flush(db.getDb), buffer.flush(db.getDb)]);

    expect(db.statements()).toBe(1);
    expect(buffer.writes).toBe(1);
  });

  it('keeps the uses of a failed flush for the next one, logs the failure, and lets a newer use recorded meanwhile win', async () => {
    const clock = manualClock();
    const buffer = new LastUsedBuffer({ now: clock.now });
    const [a, b] = tenants as [TestTenant, TestTenant];
    buffer.record(a.keyId);
    buffer.record(b.keyId);
    let failConnect: (error: Error) => void = () => undefined;
    const unreachable = (): Promise<Db> =>
      new Promise<Db>((_resolve, reject) => {
        failConnect = reject;
      });

    const failing = buffer.flush(unreachable);
    clock.advance(7_000);
    buffer.record(b.keyId); // used again while the first flush is still trying
    failConnect(new Error('connect ECONNREFUSED 127.0.0.1:5432'));

    await expect(failing).rejects.toThrow('ECONNREFUSED');
    expect(buffer.size).toBe(2);
    expect(buffer.writes).toBe(0);
    expect(logs.find('ERROR', 'last-used times failed')).toHaveLength(1);

    await buffer.flush(getDb);

    expect(buffer.size).toBe(0);
    expect((await lastUsedAt(a.keyId))?.toISOString()).toBe('2026-11-01T10:00:00.000Z');
    expect((await lastUsedAt(b.keyId))?.toISOString()).toBe('2026-11-01T10:00:07.000Z');
  });
});

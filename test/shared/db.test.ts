import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resetRuntimeConfig } from '../../shared/config/index.js';
import { createPool, type ConnectorLike, type Db } from '../../shared/db/index.js';
import { Deadline, now, runWithDeadline } from '../../shared/deadline/index.js';
import { DeadlineExceededError, UnavailableError } from '../../shared/errors/index.js';
import { createHttpHandler, route } from '../../shared/http/index.js';
import { captureLogs, type CapturedLogs } from '../fixtures/runtime/logs.js';
import { countBackends, databaseUrl, eventually, openAdmin, peakBackendsDuring, uniqueName } from '../fixtures/runtime/postgres.js';
import { z } from 'zod';

// HTTP invocations in this file get a 500 ms deadline: 2 s timeout minus a 1.5 s margin.
process.env.FUNCTION_TIMEOUT_SECONDS = '2';
process.env.DEADLINE_SAFETY_MARGIN_MS = '1500';
resetRuntimeConfig();

let admin: pg.Client;
const pools: Db[] = [];
let logs: CapturedLogs;

/** Opens a pool that the file's teardown closes whatever the test did. */
async function openPool(options: Parameters<typeof createPool>[0]): Promise<Db> {
  const db = await createPool(options);
  pools.push(db);
  return db;
}

/** Holds `count` connections of `db` until the returned function is called. */
async function holdConnections(db: Db, count: number): Promise<() => Promise<void>> {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let checkedOut = 0;
  const holders = Array.from({ length: count }, () =>
    db.withClient(async () => {
      checkedOut += 1;
      await gate;
    }),
  );
  await eventually(() => checkedOut === count, { timeoutMs: 5000, intervalMs: 5 });
  return async () => {
    release();
    await Promise.all(holders);
  };
}

/** A deadline with `leftMs` to go, built as the wrapper builds it (timeout minus margin). */
function deadlineWithLeft(leftMs: number, marginMs = 1000): Deadline {
  return new Deadline({ timeoutMs: leftMs + marginMs, safetyMarginMs: marginMs });
}

beforeAll(async () => {
  admin = await openAdmin();
});

afterAll(async () => {
  await Promise.all(pools.map((db) => db.close()));
  await admin.end();
});

beforeEach(() => {
  logs = captureLogs('WARNING');
});

afterEach(() => {
  logs.restore();
});

describe('the PostgreSQL pool', () => {
  it('never holds more than 3 connections while 200 queries run at once, and all of them succeed', async () => {
    const applicationName = uniqueName('pool-cap');
    const db = await openPool({ connectionString: databaseUrl(), applicationName, max: 3 });

    const { result, peak, samples } = await peakBackendsDuring(admin, applicationName, () =>
      Promise.allSettled(Array.from({ length: 200 }, (_, i) => db.query<{ i: number }>('SELECT pg_sleep(0.01), $1::int AS i', [i]))),
    );

    expect(samples).toBeGreaterThan(5);
    expect(peak).toBe(3);
    expect(result.filter((r) => r.status === 'fulfilled')).toHaveLength(200);
    expect(result.map((r) => (r.status === 'fulfilled' ? r.value.rows[0]?.i : -1))).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it.each([
    { requested: 10, expected: 3, why: 'a larger request is clamped to the ceiling' },
    { requested: 2, expected: 2, why: 'configuration may lower it' },
    { requested: undefined, expected: 3, why: 'the default is the ceiling' },
  ])('opens at most $expected connections when asked for $requested ($why)', async ({ requested, expected }) => {
    const applicationName = uniqueName('pool-clamp');
    const db = await openPool({ connectionString: databaseUrl(), applicationName, max: requested });

    const { peak } = await peakBackendsDuring(admin, applicationName, () =>
      Promise.all(Array.from({ length: 40 }, () => db.query('SELECT pg_sleep(0.02)'))),
    );

    expect(db.max).toBe(expected);
    expect(peak).toBe(expected);
    expect(db.stats()).toMatchObject({ max: expected, waiting: 0 });
  });

  it('leaves no backend on the server once close() has resolved', async () => {
    const applicationNames = Array.from({ length: 10 }, () => uniqueName('pool-close'));

    const leftAfterClose = [];
    for (const applicationName of applicationNames) {
      const db = await createPool({ connectionString: databaseUrl(), applicationName, max: 3 });
      await Promise.all([1, 2, 3].map(() => db.query('SELECT pg_sleep(0.01)')));
      await db.close();
      leftAfterClose.push(await countBackends(admin, applicationName));
    }

    expect(leftAfterClose).toEqual(applicationNames.map(() => 0));
  });

  it('names the function and instance in application_name', async () => {
    const applicationName = uniqueName('fn-name');
    const db = await openPool({ connectionString: databaseUrl(), applicationName });

    const { rows } = await db.query<{ name: string }>("SELECT current_setting('application_name') AS name");

    expect(rows[0]?.name).toBe(applicationName);
    expect(await countBackends(admin, applicationName)).toBeGreaterThanOrEqual(1);
  });

  it('reaches PostgreSQL through the Cloud SQL connector when one is configured, and closes it with the pool', async () => {
    const target = new URL(databaseUrl());
    const port = target.port === '' ? 5432 : Number(target.port);
    const database = target.pathname.slice(1);
    const applicationName = uniqueName('connector');
    const requests: unknown[] = [];
    let streams = 0;
    let closes = 0;
    const connector: ConnectorLike = {
      getOptions: async (options) => {
        requests.push(options);
        return {
          stream: () => {
            streams += 1;
            // The run's server, wherever it is (CI gives it on another host).
            const socket = net.connect(port, target.hostname);
            // As the real connector does: its socket is already connecting, and pg calls connect() again.
            socket.connect = () => socket;
            return socket;
          },
        };
      },
      close: () => {
        closes += 1;
      },
    };
    const db = await openPool({
      applicationName,
      cloudSql: { instanceConnectionName: 'demo-project:europe-west1:main', ipType: 'PRIVATE', iamAuth: false, user: decodeURIComponent(target.username), password: decodeURIComponent(target.password), database },
      connectorFactory: () => connector,
    });

    const { rows } = await db.query<{ db: string }>('SELECT current_database() AS db');
    const backendsWhileOpen = await countBackends(admin, applicationName);
    await db.close();
    const backendsAfterClose = await countBackends(admin, applicationName);

    expect(rows[0]?.db).toBe(database);
    expect(requests).toEqual([{ instanceConnectionName: 'demo-project:europe-west1:main', ipType: 'PRIVATE', authType: 'PASSWORD' }]);
    expect(streams).toBeGreaterThanOrEqual(1);
    expect(backendsWhileOpen).toBeGreaterThanOrEqual(1);
    expect(closes).toBe(1);
    expect(backendsAfterClose).toBe(0);
  });
});

describe('waiting for a connection', () => {
  it('gets UNAVAILABLE with Retry-After after about its budget when no connection frees up, not a hang', async () => {
    const db = await openPool({ connectionString: databaseUrl(), applicationName: uniqueName('pool-wait'), max: 3 });
    const release = await holdConnections(db, 3);
    const deadline = deadlineWithLeft(500);

    const started = now();
    const error: unknown = await runWithDeadline(deadline, () => db.query('SELECT 1')).catch((e: unknown) => e);
    const elapsed = now() - started;
    deadline.dispose();
    await release();

    expect(error).toBeInstanceOf(UnavailableError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', status: 503, retryAfterSeconds: 1 });
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(2000);
  });

  it('gets UNAVAILABLE, not an internal error, when the pool gives up waiting before the budget does', async () => {
    const db = await openPool({ connectionString: databaseUrl(), applicationName: uniqueName('pool-wait-short'), max: 1, connectTimeoutMs: 400 });
    const release = await holdConnections(db, 1);
    const deadline = deadlineWithLeft(3000);

    const started = now();
    const error: unknown = await runWithDeadline(deadline, () => db.query('SELECT 1')).catch((e: unknown) => e);
    const elapsed = now() - started;
    deadline.dispose();
    await release();

    expect(error).toBeInstanceOf(UnavailableError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', status: 503, retryAfterSeconds: 1 });
    expect(elapsed).toBeLessThan(2500);
  });

  it('hands a connection that frees up after the caller gave up back to the pool', async () => {
    const applicationName = uniqueName('pool-late');
    const db = await openPool({ connectionString: databaseUrl(), applicationName, max: 1 });
    const release = await holdConnections(db, 1);
    const deadline = deadlineWithLeft(200);

    await runWithDeadline(deadline, () => db.query('SELECT 1')).catch(() => undefined);
    deadline.dispose();
    await release();
    const { rows } = await db.query<{ ok: number }>('SELECT 1 AS ok');

    expect(rows[0]?.ok).toBe(1);
    expect(db.stats()).toMatchObject({ total: 1, idle: 1, waiting: 0 });
    expect(await countBackends(admin, applicationName)).toBe(1);
  });
});

describe('query budgets', () => {
  it('cancels a query on the server when it outlives its budget, and the same connection serves the next query', async () => {
    const applicationName = uniqueName('budget');
    const db = await openPool({ connectionString: databaseUrl(), applicationName, max: 1 });
    const before = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const deadline = deadlineWithLeft(300);

    const started = now();
    const error: unknown = await runWithDeadline(deadline, () => db.query('SELECT pg_sleep(5)', [], { tier: 'user' })).catch((e: unknown) => e);
    const elapsed = now() - started;
    deadline.dispose();
    const goneFromServer = await eventually(async () => {
      const { rows } = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND query LIKE '%pg_sleep%'",
        [applicationName],
      );
      return rows[0]?.n === 0;
    }, { timeoutMs: 1000 });
    const after = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');

    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error).toMatchObject({ code: 'DEADLINE_EXCEEDED', status: 504 });
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1200);
    expect(goneFromServer).toBe(true);
    expect(after.rows[0]?.pid).toBe(before.rows[0]?.pid);
    expect(db.stats()).toMatchObject({ total: 1, idle: 1 });
  });

  it.each([
    { name: 'no server timeout (0)', param: '0' },
    { name: 'a longer server timeout than the tier', param: '120000' },
  ])('runs under the tier budget on the server when the connection string sets $name', async ({ param }) => {
    const url = new URL(databaseUrl());
    url.searchParams.set('statement_timeout', param);
    const db = await openPool({ connectionString: url.toString(), applicationName: uniqueName('url-timeout'), max: 1 });

    // Outside any invocation the budget is the whole tier (user: 30 s); the server must
    // cancel at about that, not at what the connection string asked for.
    const { rows } = await db.query<{ ms: string }>("SELECT current_setting('statement_timeout') AS ms");

    const ms = Number.parseInt(rows[0]?.ms ?? '', 10) * (rows[0]?.ms.endsWith('min') ? 60_000 : rows[0]?.ms.endsWith('ms') ? 1 : 1000);
    expect(ms).toBeGreaterThan(29_000);
    expect(ms).toBeLessThanOrEqual(30_000);
  });

  it('refuses database work once the deadline has passed, without touching the pool', async () => {
    const db = await openPool({ connectionString: databaseUrl(), applicationName: uniqueName('budget-gone'), max: 1 });
    const deadline = new Deadline({ timeoutMs: 1000, safetyMarginMs: 0, startedAt: now() - 5000 });

    const error: unknown = await runWithDeadline(deadline, () => db.query('SELECT 1')).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'DEADLINE_EXCEEDED', status: 504 });
    expect(db.stats().waiting).toBe(0);
  });
});

describe('through the HTTP wrapper', () => {
  let server: Server;
  let url: string;
  let db: Db;
  let release: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    db = await openPool({ connectionString: databaseUrl(), applicationName: uniqueName('http-db'), max: 3 });
    http(
      'db-http',
      createHttpHandler({
        name: 'db-http',
        routes: [
          route({ method: 'GET', path: '/v1/one', summary: 'One row', responses: { 200: { description: 'The row', body: z.looseObject({}).optional() } }, handler: async () => ({ body: (await db.query('SELECT 1 AS one')).rows[0] }) }),
          route({ method: 'GET', path: '/v1/sleep', summary: 'A long statement', responses: { 200: { description: 'The row', body: z.looseObject({}).optional() } }, handler: async () => ({ body: (await db.query('SELECT pg_sleep(5)')).rows[0] }) }),
        ],
      }),
    );
    server = getTestServer('db-http');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await release?.();
    await new Promise((resolve) => server.close(resolve));
  });

  it('returns 503 with Retry-After when no connection frees up within the budget', async () => {
    release = await holdConnections(db, 3);

    const started = now();
    const res = await fetch(`${url}/v1/one`);
    const elapsed = now() - started;
    const body = (await res.json()) as { error: { code: string; message: string; request_id: string } };
    await release();
    release = undefined;

    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(body.error.code).toBe('UNAVAILABLE');
    expect(body.error.request_id).toBe(res.headers.get('x-request-id'));
    expect(elapsed).toBeGreaterThanOrEqual(400);
    expect(elapsed).toBeLessThan(2000);
  });

  it('returns 504 DEADLINE_EXCEEDED when a query outlives the invocation deadline', async () => {

    const started = now();
    const res = await fetch(`${url}/v1/sleep`);
    const elapsed = now() - started;
    const body = (await res.json()) as { error: { code: string } };
    const after = await fetch(`${url}/v1/one`);

    expect(res.status).toBe(504);
    expect(body.error.code).toBe('DEADLINE_EXCEEDED');
    expect(elapsed).toBeLessThan(2000);
    expect(after.status).toBe(200);
  });
});

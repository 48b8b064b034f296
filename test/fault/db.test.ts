import net from 'node:net';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPool, type ConnectorLike, type Db, type PoolOptions } from '../../shared/db/index.js';
import { Deadline, runWithDeadline } from '../../shared/deadline/index.js';
import { DeadlineExceededError, UnavailableError } from '../../shared/errors/index.js';
import { captureLogs, type CapturedLogs } from '../fixtures/runtime/logs.js';
import { countBackends, databaseUrl, eventually, openAdmin, uniqueName } from '../fixtures/runtime/postgres.js';

let admin: pg.Client;
let logs: CapturedLogs;
const pools: Db[] = [];

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

/** A connector like the real one: a socket to the run's server, already connecting. */
function fakeConnector({ closeFails = false, optionsFail = false } = {}): ConnectorLike & { closes: number } {
  const target = new URL(databaseUrl());
  const connector = {
    closes: 0,
    getOptions: async () => {
      if (optionsFail) throw new Error('injected: the instance metadata could not be fetched');
      return {
      stream: () => {
        // The run's server, wherever it is (CI gives it on another host).
        const socket = net.connect(Number(target.port || 5432), target.hostname);
        socket.connect = () => socket;
        return socket;
      },
      };
    },
    close: () => {
      connector.closes += 1;
      if (closeFails) throw new Error('connector close failed: refresh timer already cleared');
    },
  };
  return connector;
}

function cloudSqlTarget(): NonNullable<PoolOptions['cloudSql']> {
  const target = new URL(databaseUrl());
  return {
    instanceConnectionName: 'demo-project:europe-west1:main',
    ipType: 'PRIVATE',
    iamAuth: false,
    user: decodeURIComponent(target.username),
    password: decodeURIComponent(target.password),
    database: target.pathname.slice(1),
  };
}

/**
 * A health check that fails, after recording how many OTHER backends of the same pool
 * are still open on the server: anything left over from an earlier attempt shows here.
 */
function failingHealthCheck(applicationName: string, failure: Error): { check: PoolOptions['healthCheck']; othersSeen: number[] } {
  const othersSeen: number[] = [];
  return {
    othersSeen,
    check: async (client) => {
      const { rows } = await client.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
        [applicationName],
      );
      othersSeen.push(rows[0]?.n ?? -1);
      throw failure;
    },
  };
}

describe('opening a pool whose health check fails', () => {
  it('closes what each attempt opened before retrying, and throws the original error', async () => {
    const applicationName = uniqueName('hc-fail');
    const injected = new Error('injected health check failure');
    const { check, othersSeen } = failingHealthCheck(applicationName, injected);

    const error: unknown = await createPool({ connectionString: databaseUrl(), applicationName, connectAttempts: 3, backoffMs: 50, healthCheck: check }).catch(
      (e: unknown) => e,
    );

    expect(error).toBe(injected);
    expect(othersSeen).toEqual([0, 0, 0]);
    expect(await countBackends(admin, applicationName)).toBe(0);
    expect(logs.find('WARNING', 'Opening the database pool failed').map((e) => e.attempt)).toEqual([1, 2, 3]);
  });

  it('throws the original error, not the cleanup error, when closing the connector fails too, and logs the cleanup error', async () => {
    const applicationName = uniqueName('hc-close-fail');
    const injected = new Error('injected health check failure');
    const { check, othersSeen } = failingHealthCheck(applicationName, injected);
    const connector = fakeConnector({ closeFails: true });

    const error: unknown = await createPool({
      applicationName,
      cloudSql: cloudSqlTarget(),
      connectorFactory: () => connector,
      connectAttempts: 2,
      backoffMs: 50,
      healthCheck: check,
    }).catch((e: unknown) => e);

    expect(error).toBe(injected);
    expect(othersSeen).toEqual([0, 0]);
    expect(await countBackends(admin, applicationName)).toBe(0);
    expect(connector.closes).toBe(2);
    const cleanup = logs.find('ERROR', 'Closing the Cloud SQL connector failed');
    expect(cleanup).toHaveLength(2);
    expect(cleanup[0]).toMatchObject({ application_name: applicationName, err: { message: 'connector close failed: refresh timer already cleared' } });
  });

  it('closes the connector of each attempt when it cannot give its options, and throws that error', async () => {
    const applicationName = uniqueName('connector-fail');
    const connector = fakeConnector({ optionsFail: true });

    const error: unknown = await createPool({
      applicationName,
      cloudSql: cloudSqlTarget(),
      connectorFactory: () => connector,
      connectAttempts: 2,
      backoffMs: 20,
    }).catch((e: unknown) => e);

    expect(error).toMatchObject({ message: 'injected: the instance metadata could not be fetched' });
    expect(connector.closes).toBe(2);
    expect(await countBackends(admin, applicationName)).toBe(0);
  });

  it('throws the server error when the connection itself is refused (wrong password)', async () => {
    const applicationName = uniqueName('hc-auth');
    const url = new URL(databaseUrl());
    url.password = 'not-the-password';

    const error: unknown = await createPool({ connectionString: url.toString(), applicationName, connectAttempts: 2, backoffMs: 20 }).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: '28P01' });
    expect(await countBackends(admin, applicationName)).toBe(0);
    expect(logs.lines.join('\n')).not.toContain('not-the-password');
  });

  it('succeeds on a later attempt after an early failure, leaving only the good pool open', async () => {
    const applicationName = uniqueName('hc-recover');
    let attempts = 0;

    const db = await createPool({
      connectionString: databaseUrl(),
      applicationName,
      backoffMs: 20,
      healthCheck: async (client) => {
        attempts += 1;
        if (attempts === 1) throw new Error('first attempt fails');
        await client.query('SELECT 1');
      },
    });
    pools.push(db);

    expect(attempts).toBe(2);
    expect(await countBackends(admin, applicationName)).toBe(1);
  });
});

describe('connections killed by the server', () => {
  let uncaught: unknown[];
  const onUncaught = (error: unknown): void => {
    uncaught.push(error);
  };

  beforeEach(() => {
    uncaught = [];
    process.on('uncaughtException', onUncaught);
  });

  afterEach(() => {
    process.off('uncaughtException', onUncaught);
  });

  it('survives pg_terminate_backend on idle pooled connections, and the next query succeeds', async () => {
    const applicationName = uniqueName('idle-kill');
    const db = await createPool({ connectionString: databaseUrl(), applicationName, max: 3 });
    pools.push(db);
    await Promise.all([1, 2, 3].map(() => db.query('SELECT pg_sleep(0.05)')));
    expect(db.stats()).toMatchObject({ total: 3, idle: 3 });

    const { rows: killed } = await admin.query<{ ok: boolean }>(
      'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1',
      [applicationName],
    );
    const noticed = await eventually(() => db.stats().idleErrors === 3, { timeoutMs: 2000 });
    const { rows } = await db.query<{ ok: number }>('SELECT 1 AS ok');

    expect(killed).toHaveLength(3);
    expect(noticed).toBe(true);
    expect(uncaught).toEqual([]);
    expect(rows[0]?.ok).toBe(1);
    expect(db.stats()).toMatchObject({ total: 1, idleErrors: 3 });
    expect(logs.find('WARNING', 'An idle database connection was closed by the server')).toHaveLength(3);
  });

  it('answers UNAVAILABLE when a running query loses its connection, and destroys that connection', async () => {
    const applicationName = uniqueName('busy-kill');
    const db = await createPool({ connectionString: databaseUrl(), applicationName, max: 1 });
    pools.push(db);
    const { rows: before } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');

    const running = db.query('SELECT pg_sleep(5)').catch((e: unknown) => e);
    await eventually(async () => {
      const { rows } = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'",
        [applicationName],
      );
      return rows[0]?.n === 1;
    });
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
    const error = await running;
    const { rows: after } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');

    expect(error).toBeInstanceOf(UnavailableError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', status: 503 });
    expect(uncaught).toEqual([]);
    expect(after[0]?.pid).not.toBe(before[0]?.pid);
  });

  it('destroys a checked-out connection killed between two queries instead of returning it to the pool', async () => {
    const applicationName = uniqueName('held-kill');
    const db = await createPool({ connectionString: databaseUrl(), applicationName, max: 1 });
    pools.push(db);

    const error: unknown = await db
      .withClient(async (client) => {
        const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
        await eventually(() => logs.find('WARNING', 'A checked-out database connection failed').length > 0);
        return client.query('SELECT 1');
      })
      .catch((e: unknown) => e);
    const { rows } = await db.query<{ ok: number }>('SELECT 1 AS ok');

    expect(error).toMatchObject({ code: 'UNAVAILABLE', status: 503 });
    expect(uncaught).toEqual([]);
    expect(rows[0]?.ok).toBe(1);
    expect(await countBackends(admin, applicationName)).toBe(1);
  });
});

/**
 * A TCP relay to the server that can be cut: bytes stop flowing both ways, sockets stay
 * open — what a network partition looks like to the client. The server never sees the
 * statement, so its `statement_timeout` cannot help.
 */
async function partitionableRelay(): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const target = new URL(databaseUrl());
  let cut = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname === 'localhost' ? '127.0.0.1' : target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('data', (chunk) => cut || upstream.write(chunk));
    upstream.on('data', (chunk) => cut || client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const url = new URL(databaseUrl());
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    cut: () => {
      cut = true;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('a server that stops answering (network partition)', () => {
  it('gives up shortly after the budget with DEADLINE_EXCEEDED and destroys the connection instead of pooling it', async () => {
    const relay = await partitionableRelay();
    const applicationName = uniqueName('partition');
    const db = await createPool({ connectionString: relay.url, applicationName, max: 1 });
    try {
      await db.query('SELECT 1');
      relay.cut();
      const started = performance.now();
      const error: unknown = await runWithDeadline(new Deadline({ timeoutMs: 1500, safetyMarginMs: 0 }), () => db.query('SELECT 1')).catch(
        (e: unknown) => e,
      );
      const waitedMs = performance.now() - started;

      expect(error).toBeInstanceOf(DeadlineExceededError);
      expect(error).toMatchObject({ name: 'DatabaseUnresponsiveError', code: 'DEADLINE_EXCEEDED', status: 504 });
      // The budget (≤ 1.5 s) plus the backstop's 1 s of grace; not the 30 s tier, not forever.
      expect(waitedMs).toBeGreaterThan(1500);
      expect(waitedMs).toBeLessThan(4000);
      // Destroyed, not returned: the pool holds no connection that might answer late.
      expect(await eventually(() => db.stats().total === 0, { timeoutMs: 2000 })).toBe(true);
    } finally {
      await db.close();
      await relay.close();
    }
  });

  it('answers UNAVAILABLE (shutting down), not a budget error, when shutdown cancelled the statement and the server never answered', async () => {
    const relay = await partitionableRelay();
    const db = await createPool({ connectionString: relay.url, applicationName: uniqueName('partition-cancel'), max: 1 });
    try {
      await db.query('SELECT 1');
      relay.cut();
      const running = runWithDeadline(new Deadline({ timeoutMs: 1500, safetyMarginMs: 0 }), () => db.query('SELECT 1')).catch((e: unknown) => e);
      await eventually(() => db.stats().idle === 0);
      // Shutdown's drain-timeout hook: the cancel request cannot reach the server either.
      expect(await db.cancelRunning()).toBe(1);
      const error = await running;

      expect(error).toBeInstanceOf(UnavailableError);
      expect(error).toMatchObject({ code: 'UNAVAILABLE', message: 'The instance is shutting down' });
    } finally {
      await db.close();
      await relay.close();
    }
  });
});

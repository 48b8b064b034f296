import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clientStats, closeClients, lazyClient, resetClients, unregisterClient, type ClientStats } from '../../shared/clients/index.js';
import { captureLogs, type CapturedLogs } from '../fixtures/runtime/logs.js';

/** A fake client that remembers whether it was closed. */
interface FakeClient {
  id: number;
  closed: boolean;
}

let logs: CapturedLogs;

beforeEach(async () => {
  await resetClients();
  for (const { name } of clientStats()) await unregisterClient(name);
  logs = captureLogs('WARNING');
});

afterEach(async () => {
  logs.restore();
  await resetClients();
});

function statsOf(name: string): ClientStats | undefined {
  return clientStats().find((s) => s.name === name);
}

describe('lazy client cache', () => {
  it('creates a client once when 50 first calls arrive at the same time', async () => {
    let factoryCalls = 0;
    const getClient = lazyClient<FakeClient>('concurrent', {
      create: async () => {
        factoryCalls += 1;
        await sleep(20);
        return { id: factoryCalls, closed: false };
      },
    });

    const clients = await Promise.all(Array.from({ length: 50 }, () => getClient()));

    expect(factoryCalls).toBe(1);
    expect(new Set(clients).size).toBe(1);
    expect(statsOf('concurrent')).toMatchObject({ state: 'ready', creations: 1, failures: 0 });
  });

  it('does not cache a failed creation: the next call tries again and succeeds', async () => {
    let factoryCalls = 0;
    const boom = new Error('metadata server unreachable');
    const getClient = lazyClient<FakeClient>('flaky', {
      create: async () => {
        factoryCalls += 1;
        await sleep(5);
        if (factoryCalls === 1) throw boom;
        return { id: factoryCalls, closed: false };
      },
    });

    const firstWave = await Promise.allSettled(Array.from({ length: 10 }, () => getClient()));
    const afterFailure = statsOf('flaky');
    const second = await getClient();

    expect(firstWave.every((r) => r.status === 'rejected' && r.reason === boom)).toBe(true);
    expect(afterFailure).toMatchObject({ state: 'failed', failures: 1, creations: 0, lastError: 'metadata server unreachable' });
    expect(second.id).toBe(2);
    expect(factoryCalls).toBe(2);
    expect(statsOf('flaky')).toMatchObject({ state: 'ready', failures: 1, creations: 1, lastError: undefined });
  });

  it('reuses the client across warm invocations', async () => {
    let factoryCalls = 0;
    const getClient = lazyClient<FakeClient>('warm', { create: () => ({ id: ++factoryCalls, closed: false }) });

    const first = await getClient();
    const second = await getClient();
    const third = await getClient();

    expect(second).toBe(first);
    expect(third).toBe(first);
    expect(factoryCalls).toBe(1);
    expect(getClient.peek()).toBe(first);
  });

  it('reports each client state in clientStats(): idle, creating, ready, failed, closed', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    lazyClient<FakeClient>('never-used', { create: () => ({ id: 0, closed: false }) });
    const slow = lazyClient<FakeClient>('slow', {
      create: async () => {
        await gate;
        return { id: 1, closed: false };
      },
    });
    const broken = lazyClient<FakeClient>('broken', {
      create: () => {
        throw new Error('bad credentials');
      },
    });

    const pending = slow();
    const whileCreating = statsOf('slow')?.state;
    release();
    await pending;
    await broken().catch(() => undefined);
    const beforeClose = Object.fromEntries(clientStats().map((s) => [s.name, s.state]));
    await closeClients();
    const afterClose = Object.fromEntries(clientStats().map((s) => [s.name, s.state]));

    expect(whileCreating).toBe('creating');
    expect(beforeClose).toEqual({ 'never-used': 'idle', slow: 'ready', broken: 'failed' });
    expect(afterClose).toEqual({ 'never-used': 'idle', slow: 'closed', broken: 'failed' });
    expect(statsOf('slow')?.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(statsOf('broken')?.lastError).toBe('bad credentials');
  });

  it('closes clients in reverse creation order, once, however often shutdown asks', async () => {
    const closed: string[] = [];
    const make = (name: string) =>
      lazyClient<FakeClient>(name, {
        create: () => ({ id: 0, closed: false }),
        close: async (client) => {
          await sleep(5);
          client.closed = true;
          closed.push(name);
        },
      });
    // Registered a, b, c — but created a, c, b: creation order is what counts.
    const a = make('a');
    const b = make('b');
    const c = make('c');
    await a();
    await c();
    await b();

    await Promise.all([closeClients(), closeClients()]);
    await closeClients();

    expect(closed).toEqual(['b', 'c', 'a']);
    await expect(a()).rejects.toThrow(/shutting down/);
  });

  it('logs a failing close with the client name and still closes the others', async () => {
    const closed: string[] = [];
    const make = (name: string, fail = false) =>
      lazyClient<FakeClient>(name, {
        create: () => ({ id: 0, closed: false }),
        close: () => {
          if (fail) throw new Error(`${name} socket already destroyed`);
          closed.push(name);
        },
      });
    const first = make('first');
    const middle = make('middle', true);
    const last = make('last');
    await first();
    await middle();
    await last();

    await closeClients();

    expect(closed).toEqual(['last', 'first']);
    const [line, ...others] = logs.find('ERROR', 'Closing a client failed');
    expect(others).toHaveLength(0);
    expect(line).toMatchObject({ client: 'middle', err: { message: 'middle socket already destroyed' } });
    expect((line?.err as { stack?: string }).stack).toContain('middle socket already destroyed');
  });
});

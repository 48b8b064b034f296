/**
 * The DuckDB engine wrapper: connection pool accounting, write locks and
 * shutdown. Closing DuckDB under a running statement is a native crash, so
 * these cases pin the ordering down.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../../../dev/bigquery/engine.js';

const SLOW_SQL = 'SELECT count(*) FROM range(200000) a, range(200000) b WHERE (a.range * b.range) % 7 = 3';

describe('Engine', () => {
  it('does not close the database until a running statement has stopped', async () => {
    const engine = await Engine.open({ dataPath: ':memory:' });
    const conn = await engine.acquire();
    const events: string[] = [];
    const running = conn.runAndReadAll(SLOW_SQL).then(
      () => events.push('statement finished'),
      () => events.push('statement interrupted'),
    );
    // Let the statement start executing.
    await new Promise((r) => setTimeout(r, 50));
    const closing = engine.close().then(() => events.push('closed'));
    await running;
    engine.release(conn);
    await closing;
    expect(events).toEqual(['statement interrupted', 'closed']);
  });

  it('closes immediately when nothing is running, even after warm-up', async () => {
    const engine = await Engine.open({ dataPath: ':memory:' });
    await engine.with((c) => c.run('SELECT 1'));
    const started = Date.now();
    await engine.close();
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('counts connections back to zero after more callers than connections', async () => {
    const engine = await Engine.open({ dataPath: ':memory:', maxConnections: 2 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => engine.with((c) => c.run(`SELECT ${i}`))));
    expect(engine.inUse).toBe(0);
    const started = Date.now();
    await engine.close();
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('rejects callers waiting for a connection when it closes', async () => {
    const engine = await Engine.open({ dataPath: ':memory:', maxConnections: 1 });
    const held = await engine.acquire();
    const waiting = engine.acquire();
    const closing = engine.close();
    await expect(waiting).rejects.toThrow(/shutting down/);
    engine.release(held);
    await closing;
  });

  it('serialises writers on the same table key and lets other keys run', async () => {
    const engine = await Engine.open({ dataPath: ':memory:' });
    const order: string[] = [];
    const slowWriter = engine.withLocks(['ds.t'], async () => {
      order.push('a start');
      await new Promise((r) => setTimeout(r, 50));
      order.push('a end');
    });
    const sameTable = engine.withLocks(['DS.T'], async () => {
      order.push('b');
    });
    const otherTable = engine.withLocks(['ds.u'], async () => {
      order.push('c');
    });
    await Promise.all([slowWriter, sameTable, otherTable]);
    expect(order.indexOf('b')).toBeGreaterThan(order.indexOf('a end'));
    expect(order.indexOf('c')).toBeLessThan(order.indexOf('a end'));
    await engine.close();
  });

  it('holds a table for transactions side by side; an exclusive writer waits for all of them, and a later transaction waits behind it', async () => {
    const engine = await Engine.open({ dataPath: ':memory:' });
    const order: string[] = [];
    const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 50));
    const first = engine.withLocks(['ds.t'], async () => {
      order.push('tx1 start');
      await pause();
      order.push('tx1 end');
    }, 'transaction');
    const second = engine.withLocks(['ds.t'], async () => {
      order.push('tx2 start');
      await pause();
      order.push('tx2 end');
    }, 'transaction');
    const plain = engine.withLocks(['ds.t'], async () => {
      order.push('dml');
    });
    const late = engine.withLocks(['ds.t'], async () => {
      order.push('tx3');
    }, 'transaction');
    await Promise.all([first, second, plain, late]);

    expect(order.slice(0, 2)).toEqual(['tx1 start', 'tx2 start']);
    expect(order.indexOf('dml')).toBeGreaterThan(Math.max(order.indexOf('tx1 end'), order.indexOf('tx2 end')));
    expect(order.indexOf('tx3')).toBeGreaterThan(order.indexOf('dml'));
    await engine.close();
  });
});

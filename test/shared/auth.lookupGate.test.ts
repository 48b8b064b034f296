/**
 * `shared/auth/LookupGate`: the cap on API-key lookups that missed every cache — at most
 * `max` at once, callers for the same key share one lookup, a short bounded queue, and
 * the excess refused at once with `503 UNAVAILABLE` and `Retry-After`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { LookupGate } from '../../shared/auth/index.js';
import { UnavailableError } from '../../shared/errors/index.js';

/** A lookup the test finishes by hand; counts how often each key was looked up. */
function manualLoads(): {
  load: (key: string) => () => Promise<string>;
  started: string[];
  finish: (key: string, value?: string) => void;
  fail: (key: string, error: Error) => void;
} {
  const started: string[] = [];
  const pending = new Map<string, { resolve: (v: string) => void; reject: (e: Error) => void }>();
  return {
    started,
    load: (key) => () =>
      new Promise<string>((resolve, reject) => {
        started.push(key);
        pending.set(key, { resolve, reject });
      }),
    finish: (key, value = `record of ${key}`) => {
      pending.get(key)?.resolve(value);
      pending.delete(key);
    },
    fail: (key, error) => {
      pending.get(key)?.reject(error);
      pending.delete(key);
    },
  };
}

/** Lets queued promise callbacks (slot hand-offs) run. */
const settle = (): Promise<void> => sleep(0);

describe('LookupGate', () => {
  it('runs at most max lookups at once and starts the next as soon as one finishes', async () => {
    const gate = new LookupGate<string>({ max: 2 });
    const loads = manualLoads();

    const results = ['a', 'b', 'c', 'd'].map((key) => gate.run(key, loads.load(key)));
    await settle();

    expect(loads.started).toEqual(['a', 'b']);
    expect(gate.stats()).toMatchObject({ running: 2, max: 2 });

    loads.finish('a');
    await settle();

    expect(loads.started).toEqual(['a', 'b', 'c']);
    expect(gate.stats().running).toBe(2);

    loads.finish('b');
    await settle();
    loads.finish('c');
    loads.finish('d');

    expect(await Promise.all(results)).toEqual(['record of a', 'record of b', 'record of c', 'record of d']);
    expect(gate.stats()).toEqual({ started: 4, joined: 0, refused: 0, running: 0, max: 2 });
  });

  it('takes a number as max', async () => {
    const gate = new LookupGate<string>(1);
    const loads = manualLoads();

    const first = gate.run('a', loads.load('a'));
    const second = gate.run('b', loads.load('b'));
    await settle();

    expect(loads.started).toEqual(['a']);
    loads.finish('a');
    await settle();
    loads.finish('b');
    expect(await Promise.all([first, second])).toHaveLength(2);
  });

  it('lets callers for a key already being looked up join that lookup instead of starting another', async () => {
    const gate = new LookupGate<string>({ max: 1, queueMax: 0 });
    const loads = manualLoads();

    const callers = Array.from({ length: 5 }, () => gate.run('same', loads.load('same')));
    await settle();
    loads.finish('same', 'shared');

    expect(await Promise.all(callers)).toEqual(Array(5).fill('shared'));
    expect(loads.started).toEqual(['same']);
    expect(gate.stats()).toMatchObject({ started: 1, joined: 4, refused: 0 });
  });

  it('serves waiting callers in the order they came', async () => {
    const gate = new LookupGate<string>({ max: 1 });
    const loads = manualLoads();

    const all = ['first', 'w1', 'w2', 'w3'].map((key) => gate.run(key, loads.load(key)));
    for (const key of ['first', 'w1', 'w2', 'w3']) {
      await settle();
      loads.finish(key);
    }
    await Promise.all(all);

    expect(loads.started).toEqual(['first', 'w1', 'w2', 'w3']);
  });

  it('refuses a caller at once with 503 UNAVAILABLE and Retry-After when max run and the queue is full', async () => {
    const gate = new LookupGate<string>({ max: 1, queueMax: 2 });
    const loads = manualLoads();
    const running = gate.run('a', loads.load('a'));
    const queued = [gate.run('b', loads.load('b')), gate.run('c', loads.load('c'))];

    const refusedAt = performance.now();
    const error = await gate.run('d', loads.load('d')).catch((e: unknown) => e);

    expect(performance.now() - refusedAt).toBeLessThan(50);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', status: 503, retryAfterSeconds: 1 });
    expect(gate.stats()).toMatchObject({ refused: 1, running: 1 });

    for (const key of ['a', 'b', 'c']) {
      loads.finish(key);
      await settle();
    }
    await Promise.all([running, ...queued]);
    expect(loads.started).toEqual(['a', 'b', 'c']);
  });

  it('refuses a waiting caller after maxWaitMs without ever running its lookup, and leaves the queue clean', async () => {
    const gate = new LookupGate<string>({ max: 1, queueMax: 4, maxWaitMs: 60 });
    const loads = manualLoads();
    const running = gate.run('slow', loads.load('slow'));

    const waitedFrom = performance.now();
    const error = await gate.run('late', loads.load('late')).catch((e: unknown) => e);
    const waited = performance.now() - waitedFrom;

    expect(error).toMatchObject({ code: 'UNAVAILABLE', retryAfterSeconds: 1 });
    expect(waited).toBeGreaterThanOrEqual(55);
    expect(waited).toBeLessThan(1_000);
    expect(gate.stats()).toMatchObject({ refused: 1, started: 1, running: 1 });

    // The timed-out caller is gone from the queue: the freed slot is not handed to it.
    loads.finish('slow');
    await running;
    await settle();
    expect(loads.started).toEqual(['slow']);
    expect(gate.stats().running).toBe(0);
  });

  it('lets a woken caller join a lookup of its key that started while it waited, giving its slot on', async () => {
    const gate = new LookupGate<string>({ max: 2 });
    const loads = manualLoads();
    const a = gate.run('a', loads.load('a'));
    const b = gate.run('b', loads.load('b'));
    const k1 = gate.run('k', loads.load('k'));
    const k2 = gate.run('k', loads.load('k'));
    const other = gate.run('z', loads.load('z'));
    await settle();

    loads.finish('a'); // the first waiter starts k
    await settle();
    loads.finish('b'); // the second waiter finds k in flight and joins; its slot goes to z
    await settle();

    expect(loads.started).toEqual(['a', 'b', 'k', 'z']);
    expect(gate.stats()).toMatchObject({ joined: 1, running: 2 });

    loads.finish('k', 'K');
    loads.finish('z');
    expect(await Promise.all([a, b, k1, k2, other])).toEqual(['record of a', 'record of b', 'K', 'K', 'record of z']);
    expect(gate.stats()).toMatchObject({ started: 4, joined: 1, running: 0 });
  });

  it('rejects every caller of a failed lookup with its error, frees the slot, and looks the key up afresh next time', async () => {
    const gate = new LookupGate<string>({ max: 1 });
    const loads = manualLoads();
    const failure = new Error('connection reset');
    const callers = [gate.run('k', loads.load('k')), gate.run('k', loads.load('k'))];
    const waiting = gate.run('next', loads.load('next'));
    await settle();

    loads.fail('k', failure);

    for (const caller of callers) await expect(caller).rejects.toBe(failure);
    await settle();
    expect(loads.started).toEqual(['k', 'next']);
    loads.finish('next');
    await waiting;

    const again = gate.run('k', loads.load('k'));
    await settle();
    loads.finish('k');
    expect(await again).toBe('record of k');
    expect(gate.stats()).toMatchObject({ started: 3, running: 0 });
  });

  it('turns a lookup that throws synchronously into a rejection, and still frees the slot', async () => {
    const gate = new LookupGate<string>({ max: 1 });

    const failed = gate.run('k', () => {
      throw new Error('sync');
    });

    await expect(failed).rejects.toThrow('sync');
    expect(gate.stats().running).toBe(0);
    expect(await gate.run('k', async () => 'ok')).toBe('ok');
  });
});

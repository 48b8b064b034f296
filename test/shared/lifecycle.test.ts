/**
 * `shared/lifecycle`: graceful shutdown in-process — refuse new work, drain, cancel the
 * stragglers at the drain time, flush, close clients, exit, all inside the grace period.
 * `exit` is a spy here; `test/fault/shutdown.test.ts` sends real SIGTERMs to real
 * functions-framework processes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lazyClient, resetClients } from '../../shared/clients/index.js';
import { Deadline } from '../../shared/deadline/index.js';
import { UnavailableError } from '../../shared/errors/index.js';
import {
  inFlightCount,
  installShutdownHandlers,
  isShuttingDown,
  onDrainTimeout,
  onShutdown,
  resetLifecycle,
  shutdown,
  trackInvocation,
  type ShutdownOptions,
} from '../../shared/lifecycle/index.js';
import { captureLogs, type CapturedLogs } from '../fixtures/runtime/logs.js';

let logs: CapturedLogs;
/** What happened, in order, across invocations, hooks, clients and exit. */
let events: string[];
let exits: number[];

const deadline = (): Deadline => new Deadline({ timeoutMs: 60_000, safetyMarginMs: 0 });

/** Options with the exit spy and short limits, so a test takes milliseconds, not seconds. */
function options(overrides: ShutdownOptions = {}): ShutdownOptions {
  return {
    drainTimeoutMs: 500,
    cancelGraceMs: 100,
    flushTimeoutMs: 300,
    graceMs: 3_000,
    exit: (code) => {
      exits.push(code);
      events.push(`exit ${code}`);
    },
    ...overrides,
  };
}

/** Creates a lazily built client whose close is recorded. */
async function openClient(name: string, close: () => Promise<void> | void = () => undefined): Promise<void> {
  const get = lazyClient(name, {
    create: () => ({ name }),
    close: async () => {
      await close();
      events.push(`close ${name}`);
    },
  });
  await get();
}

beforeEach(() => {
  resetLifecycle();
  logs = captureLogs('INFO');
  events = [];
  exits = [];
});

afterEach(async () => {
  logs.restore();
  resetLifecycle();
  await resetClients();
});

describe('tracking invocations', () => {
  it('counts invocations in flight until each says it is done', () => {
    const first = trackInvocation(deadline());
    const second = trackInvocation(deadline());

    expect(inFlightCount()).toBe(2);
    first();
    expect(inFlightCount()).toBe(1);
    second();
    expect(inFlightCount()).toBe(0);
  });

  it('refuses a new invocation with 503 UNAVAILABLE and Retry-After once shutdown began', async () => {
    expect(isShuttingDown()).toBe(false);
    const done = shutdown('test', options());

    expect(isShuttingDown()).toBe(true);
    const error = (() => {
      try {
        trackInvocation(deadline());
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error).toMatchObject({ status: 503, retryAfterSeconds: 1 });
    await done;
  });
});

describe('shutdown', () => {
  it('drains, then flushes in registration order, then closes clients newest first, then exits 0', async () => {
    await openClient('lifecycle-older');
    await openClient('lifecycle-newer');
    onShutdown('first', () => void events.push('flush first'));
    onShutdown('second', async () => {
      await sleep(10);
      events.push('flush second');
    });
    const done = trackInvocation(deadline());
    setTimeout(() => {
      events.push('invocation done');
      done();
    }, 50);

    await shutdown('SIGTERM', options());

    expect(events).toEqual(['invocation done', 'flush first', 'flush second', 'close lifecycle-newer', 'close lifecycle-older', 'exit 0']);
    expect(logs.find('INFO', 'Shutting down')[0]).toMatchObject({ reason: 'SIGTERM', in_flight: 1 });
    expect(logs.find('INFO', 'Shutdown complete')[0]).toMatchObject({ reason: 'SIGTERM', exit_code: 0, memory: { rss_mib: expect.any(Number) as number, heap_used_mib: expect.any(Number) as number } });
  });

  it('runs once however often it is asked: later calls share the first', async () => {
    let flushes = 0;
    onShutdown('count', () => void (flushes += 1));

    const first = shutdown('SIGTERM', options());
    const second = shutdown('SIGINT', options());
    await Promise.all([first, second]);

    expect(second).toBe(first);
    expect(flushes).toBe(1);
    expect(exits).toEqual([0]);
  });

  it('exits at once when idle: nothing to drain', async () => {
    const started = performance.now();

    await shutdown('SIGTERM', options({ drainTimeoutMs: 5_000 }));

    expect(performance.now() - started).toBeLessThan(500);
    expect(exits).toEqual([0]);
  });

  it('at the drain time aborts the stragglers with UNAVAILABLE, runs the drain-timeout hooks, then the flushes', async () => {
    const straggler = deadline();
    const done = trackInvocation(straggler);
    straggler.signal.addEventListener('abort', () => events.push('aborted'));
    onDrainTimeout('cancel-statements', () => {
      events.push('cancel hook');
      done(); // the cancelled statement returns; the invocation answers
    });
    onShutdown('flush', () => void events.push('flush'));
    const started = performance.now();

    await shutdown('SIGTERM', options({ drainTimeoutMs: 150 }));

    const elapsed = performance.now() - started;
    expect(events).toEqual(['aborted', 'cancel hook', 'flush', 'exit 0']);
    expect(straggler.signal.reason).toBeInstanceOf(UnavailableError);
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1_000);
    expect(logs.find('WARNING', 'did not finish in time; cancelling them')[0]).toMatchObject({ in_flight: 1 });
    expect(logs.find('WARNING', 'still running')).toHaveLength(0);
  });

  it('flushes anyway, after the cancel grace, when a cancelled invocation still does not finish', async () => {
    trackInvocation(deadline()); // never done
    onShutdown('flush', () => void events.push('flush'));
    const started = performance.now();

    await shutdown('SIGTERM', options({ drainTimeoutMs: 100, cancelGraceMs: 100 }));

    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(events).toEqual(['flush', 'exit 0']);
    expect(logs.find('WARNING', 'Cancelled invocations are still running; flushing anyway')).toHaveLength(1);
  });

  it('logs a drain-timeout hook that fails and still flushes', async () => {
    trackInvocation(deadline());
    onDrainTimeout('broken-cancel', () => {
      throw new Error('cancel failed');
    });
    onShutdown('flush', () => void events.push('flush'));

    await shutdown('SIGTERM', options({ drainTimeoutMs: 50, cancelGraceMs: 50 }));

    expect(events).toEqual(['flush', 'exit 0']);
    expect(logs.find('ERROR', 'Cancelling in-flight work failed')[0]).toMatchObject({ hook: 'broken-cancel' });
  });

  it('exits 1 when a flush fails, logging it by name, and still runs the later flushes and closes clients', async () => {
    await openClient('lifecycle-after-failed-flush');
    onShutdown('broken', () => {
      throw new Error('write failed');
    });
    onShutdown('later', () => void events.push('flush later'));

    await shutdown('SIGTERM', options());

    expect(events).toEqual(['flush later', 'close lifecycle-after-failed-flush', 'exit 1']);
    expect(logs.find('ERROR', 'A shutdown flush failed')[0]).toMatchObject({ hook: 'broken' });
  });

  it('gives up on a flush that outlives its limit, exits 1, and still runs the later flushes', async () => {
    onShutdown('hangs', () => new Promise<void>(() => undefined));
    onShutdown('later', () => void events.push('flush later'));
    const started = performance.now();

    await shutdown('SIGTERM', options({ flushTimeoutMs: 300 }));

    const elapsed = performance.now() - started;
    expect(events).toEqual(['flush later', 'exit 1']);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1_100);
    expect(logs.find('ERROR', 'did not finish in time')[0]).toMatchObject({ hook: 'hangs', timeout_ms: 300 });
  });

  it('tells each flush its limit: the flush timeout, cut to what the grace period leaves (minus closing), never under 250 ms', async () => {
    const limits: number[] = [];
    onShutdown('roomy', ({ timeoutMs }) => void limits.push(timeoutMs));

    await shutdown('SIGTERM', options({ flushTimeoutMs: 2_000, graceMs: 1_600 }));
    resetLifecycle();
    onShutdown('squeezed', ({ timeoutMs }) => void limits.push(timeoutMs));
    await shutdown('SIGTERM', options({ flushTimeoutMs: 2_000, graceMs: 500 }));
    resetLifecycle();
    onShutdown('plenty', ({ timeoutMs }) => void limits.push(timeoutMs));
    await shutdown('SIGTERM', options({ flushTimeoutMs: 700, graceMs: 9_500 }));

    const [roomy, squeezed, plenty] = limits as [number, number, number];
    expect(roomy).toBeGreaterThan(500);
    expect(roomy).toBeLessThanOrEqual(600);
    expect(squeezed).toBe(250);
    expect(plenty).toBe(700);
  });

  it('exits when closing clients outlives the grace period, saying so', async () => {
    await openClient('lifecycle-slow-close', () => sleep(1_000));
    const started = performance.now();

    await shutdown('SIGTERM', options({ graceMs: 300 }));

    expect(performance.now() - started).toBeLessThan(900);
    expect(exits).toEqual([0]);
    expect(logs.find('ERROR', 'Closing clients did not finish within the grace period')).toHaveLength(1);
  });
});

describe('installShutdownHandlers', () => {
  it("takes SIGTERM and SIGINT over: removes the framework's handlers added later, keeps its own, and shuts down on the signal", async () => {
    const watched = ['SIGTERM', 'SIGINT', 'newListener'] as const;
    // `process.listeners` is typed for signals only; the emitter's own method takes any event.
    const listenersOf = (event: (typeof watched)[number]): ((...args: unknown[]) => void)[] =>
      (process as NodeJS.EventEmitter).listeners(event) as ((...args: unknown[]) => void)[];
    const before = { SIGTERM: listenersOf('SIGTERM'), SIGINT: listenersOf('SIGINT'), newListener: listenersOf('newListener') };
    const frameworks = { SIGTERM: (): void => void events.push('framework SIGTERM'), SIGINT: (): void => void events.push('framework SIGINT') };
    try {
      installShutdownHandlers(options());
      installShutdownHandlers(options()); // idempotent: no second set of handlers
      const ours = listenersOf('SIGTERM').filter((l) => !before.SIGTERM.includes(l));

      process.on('SIGTERM', frameworks.SIGTERM);
      process.on('SIGINT', frameworks.SIGINT);
      await Promise.resolve();

      expect(ours).toHaveLength(1);
      expect(listenersOf('SIGTERM')).not.toContain(frameworks.SIGTERM);
      expect(listenersOf('SIGINT')).not.toContain(frameworks.SIGINT);
      expect(listenersOf('SIGTERM')).toContain(ours[0]);

      onShutdown('flush', () => void events.push('flush'));
      process.emit('SIGTERM');
      await shutdown('already running');

      expect(events).toEqual(['flush', 'exit 0']);
      expect(logs.find('INFO', 'Shutting down')[0]).toMatchObject({ reason: 'SIGTERM' });
    } finally {
      // This worker keeps running other files' tests: give the signals back as they were.
      for (const event of watched) {
        for (const listener of listenersOf(event)) {
          if (!before[event].includes(listener)) process.removeListener(event, listener);
        }
      }
    }
  });
});

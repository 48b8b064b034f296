import { setTimeout as sleep } from 'node:timers/promises';
import { cacheReport } from '../cache/index.js';
import { closeClients } from '../clients/index.js';
import { DEFAULT_SHUTDOWN_DRAIN_MS } from '../config/index.js';
import type { Deadline } from '../deadline/index.js';
import { UnavailableError } from '../errors/index.js';
import { log } from '../log/index.js';

/**
 * A step of shutdown: `flush` hooks run after in-flight work drained, before clients close.
 * `timeoutMs` is how long the step is given; a hook that waits on something slow should
 * give up a little before it, and say what it gave up.
 */
export type ShutdownHook = (limit: { timeoutMs: number }) => Promise<void> | void;

export interface ShutdownOptions {
  /** How long in-flight invocations may take to finish. Cloud Run kills 10 s after SIGTERM. @default DEFAULT_SHUTDOWN_DRAIN_MS (6000) */
  drainTimeoutMs?: number;
  /**
   * After the drain time, how long cancelled invocations may take to answer and give back
   * what they hold (a cancelled statement returns its connection in milliseconds). @default 500
   */
  cancelGraceMs?: number;
  /** Limit for all flush hooks together. @default 2000 */
  flushTimeoutMs?: number;
  /**
   * Everything from SIGTERM to exit fits in this: the flushes get what is left of it
   * (minus a moment for closing clients), and closing clients ends at it. The platform
   * kills the instance 10 s after SIGTERM. @default 9500
   */
  graceMs?: number;
  /** Ends the process (tests inject a spy). @default process.exit */
  exit?: (code: number) => void;
}

const inFlight = new Set<Deadline>();
const flushHooks: { name: string; hook: ShutdownHook }[] = [];
const cancelHooks: { name: string; hook: ShutdownHook }[] = [];
let shuttingDown: Promise<void> | undefined;
let idleWaiters: (() => void)[] = [];

/** True once shutdown began: new invocations are refused with `UNAVAILABLE`. */
export function isShuttingDown(): boolean {
  return shuttingDown !== undefined;
}

/**
 * Marks an invocation as in flight until the returned function is called. Throws
 * `UNAVAILABLE` once shutdown has begun, so late requests fail fast instead of being cut.
 */
export function trackInvocation(deadline: Deadline): () => void {
  if (shuttingDown !== undefined) {
    throw new UnavailableError('This instance is shutting down; retry', { retryAfterSeconds: 1 });
  }
  inFlight.add(deadline);
  return function invocationDone(): void {
    inFlight.delete(deadline);
    if (inFlight.size === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const wake of waiters) wake();
    }
  };
}

/** Number of invocations in flight. */
export function inFlightCount(): number {
  return inFlight.size;
}

/** Registers a buffered-write flush (e.g. API-key last-used batches) to run at shutdown. */
export function onShutdown(name: string, hook: ShutdownHook): void {
  flushHooks.push({ name, hook });
}

/**
 * Registers a step that stops work which does not watch its invocation's signal — a
 * statement waiting in PostgreSQL (on a lock, say) — once the drain time is up. It runs
 * right after the in-flight deadlines are aborted, before the flushes: what the cancelled
 * work holds (the pool's only connection, maybe) is given back before a flush needs it.
 */
export function onDrainTimeout(name: string, hook: ShutdownHook): void {
  cancelHooks.push({ name, hook });
}

/** Time kept for closing clients (the pool waits for its sockets) out of the grace period. */
const CLOSE_RESERVE_MS = 1000;
/** The least a flush is given, even when the grace period is nearly spent. */
const MIN_FLUSH_MS = 250;

function waitForIdle(timeoutMs: number): Promise<boolean> {
  if (inFlight.size === 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    idleWaiters.push(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function withTimeout(promise: Promise<void>, ms: number): Promise<boolean> {
  const ac = new AbortController();
  try {
    return await Promise.race([promise.then(() => true), sleep(ms, false, { signal: ac.signal })]);
  } finally {
    ac.abort();
  }
}

/**
 * Graceful shutdown, once (later calls share the first): refuse new work, let in-flight
 * invocations finish (then abort the stragglers' deadlines and run the drain-timeout hooks,
 * so they fail fast and give back their connections), run flush hooks, close clients in
 * reverse creation order, exit — all inside `graceMs`. Every failure is logged; none
 * stops the later steps.
 */
export function shutdown(reason: string, options: ShutdownOptions = {}): Promise<void> {
  const {
    drainTimeoutMs = DEFAULT_SHUTDOWN_DRAIN_MS,
    cancelGraceMs = 500,
    flushTimeoutMs = 2000,
    graceMs = 9500,
    exit = (code: number) => process.exit(code),
  } = options;
  shuttingDown ??= (async () => {
    const started = performance.now();
    const graceEnds = started + graceMs;
    let exitCode = 0;
    log.info('Shutting down', { reason, in_flight: inFlight.size });
    const drained = await waitForIdle(drainTimeoutMs);
    if (!drained) {
      log.warn('In-flight invocations did not finish in time; cancelling them', { in_flight: inFlight.size });
      for (const deadline of inFlight) deadline.abort(new UnavailableError('The instance is shutting down'));
      // Work blocked outside JavaScript (a statement on a lock) does not see the abort:
      // these hooks cancel it where it runs, so it fails, answers and releases what it holds.
      for (const { name, hook } of cancelHooks) {
        try {
          await withTimeout(Promise.resolve().then(() => hook({ timeoutMs: cancelGraceMs })), cancelGraceMs);
        } catch (error) {
          log.error('Cancelling in-flight work failed', error, { hook: name });
        }
      }
      if (!(await waitForIdle(cancelGraceMs))) {
        log.warn('Cancelled invocations are still running; flushing anyway', { in_flight: inFlight.size });
      }
    }
    for (const { name, hook } of flushHooks) {
      const limit = Math.max(MIN_FLUSH_MS, Math.min(flushTimeoutMs, graceEnds - CLOSE_RESERVE_MS - performance.now()));
      try {
        const done = await withTimeout(Promise.resolve().then(() => hook({ timeoutMs: limit })), limit);
        if (!done) {
          exitCode = 1;
          log.error('A shutdown flush did not finish in time', undefined, { hook: name, timeout_ms: Math.round(limit) });
        }
      } catch (error) {
        exitCode = 1;
        log.error('A shutdown flush failed', error, { hook: name });
      }
    }
    const closeLimit = Math.max(MIN_FLUSH_MS, graceEnds - performance.now());
    if (!(await withTimeout(closeClients(), closeLimit))) {
      log.error('Closing clients did not finish within the grace period', undefined, { timeout_ms: Math.round(closeLimit) });
    }
    log.info('Shutdown complete', {
      reason,
      duration_ms: Math.round(performance.now() - started),
      exit_code: exitCode,
      caches: cacheReport(),
      memory: memoryReport(),
    });
    exit(exitCode);
  })();
  return shuttingDown;
}

let installed = false;

/**
 * Takes over SIGTERM and SIGINT. functions-framework registers its own handlers after it
 * loaded our module; they answer in-flight requests with 500 and exit at once. We watch
 * for them being added (the documented `newListener` event) and remove them right after,
 * so our graceful path is the only one. Idempotent.
 */
export function installShutdownHandlers(options: ShutdownOptions = {}): void {
  if (installed) return;
  installed = true;
  const ours = new Set<(...args: unknown[]) => void>();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const handler = (): void => {
      void shutdown(signal, options);
    };
    ours.add(handler);
    process.on(signal, handler);
  }
  process.on('newListener', (event: string | symbol, listener: (...args: unknown[]) => void) => {
    if ((event === 'SIGTERM' || event === 'SIGINT') && !ours.has(listener)) {
      // The listener is added right after this event fires; remove it once it is there.
      queueMicrotask(() => process.removeListener(event, listener));
    }
  });
}

/** Test helper: forget shutdown state and hooks (does not remove signal handlers). */
export function resetLifecycle(): void {
  shuttingDown = undefined;
  flushHooks.length = 0;
  cancelHooks.length = 0;
  inFlight.clear();
  idleWaiters = [];
}

/** The instance's memory at the end, in MiB: the resident set, and the JavaScript heap in use of what V8 holds. */
function memoryReport(): { rss_mib: number; heap_used_mib: number; heap_total_mib: number; external_mib: number } {
  const m = process.memoryUsage();
  const mib = (bytes: number): number => Math.round((bytes / 1_048_576) * 10) / 10;
  return { rss_mib: mib(m.rss), heap_used_mib: mib(m.heapUsed), heap_total_mib: mib(m.heapTotal), external_mib: mib(m.external) };
}

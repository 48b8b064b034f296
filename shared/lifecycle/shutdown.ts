import { setTimeout as sleep } from 'node:timers/promises';
import { closeClients } from '../clients/index.js';
import { DEFAULT_SHUTDOWN_DRAIN_MS } from '../config/index.js';
import type { Deadline } from '../deadline/index.js';
import { UnavailableError } from '../errors/index.js';
import { log } from '../log/index.js';

/** A step of shutdown: `flush` hooks run after in-flight work drained, before clients close. */
export type ShutdownHook = () => Promise<void> | void;

export interface ShutdownOptions {
  /** How long in-flight invocations may take to finish. Cloud Run kills 10 s after SIGTERM. @default DEFAULT_SHUTDOWN_DRAIN_MS (6000) */
  drainTimeoutMs?: number;
  /** Limit for all flush hooks together. @default 2000 */
  flushTimeoutMs?: number;
  /** Ends the process (tests inject a spy). @default process.exit */
  exit?: (code: number) => void;
}

const inFlight = new Set<Deadline>();
const flushHooks: { name: string; hook: ShutdownHook }[] = [];
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
 * invocations finish (then abort the stragglers' deadlines so they fail fast), run flush
 * hooks, close clients in reverse creation order, exit. Every failure is logged; none
 * stops the later steps.
 */
export function shutdown(reason: string, options: ShutdownOptions = {}): Promise<void> {
  const { drainTimeoutMs = DEFAULT_SHUTDOWN_DRAIN_MS, flushTimeoutMs = 2000, exit = (code: number) => process.exit(code) } = options;
  shuttingDown ??= (async () => {
    const started = performance.now();
    let exitCode = 0;
    log.info('Shutting down', { reason, in_flight: inFlight.size });
    const drained = await waitForIdle(drainTimeoutMs);
    if (!drained) {
      log.warn('In-flight invocations did not finish in time; cancelling them', { in_flight: inFlight.size });
      for (const deadline of inFlight) deadline.abort(new UnavailableError('The instance is shutting down'));
      await waitForIdle(500);
    }
    for (const { name, hook } of flushHooks) {
      try {
        const done = await withTimeout(Promise.resolve().then(hook), flushTimeoutMs);
        if (!done) {
          exitCode = 1;
          log.error('A shutdown flush did not finish in time', undefined, { hook: name });
        }
      } catch (error) {
        exitCode = 1;
        log.error('A shutdown flush failed', error, { hook: name });
      }
    }
    await closeClients();
    log.info('Shutdown complete', { reason, duration_ms: Math.round(performance.now() - started), exit_code: exitCode });
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
  inFlight.clear();
  idleWaiters = [];
}

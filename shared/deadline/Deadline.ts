import { AsyncLocalStorage } from 'node:async_hooks';
import { DeadlineExceededError } from '../errors/index.js';
import { TIERS, type Tier } from './constants.js';

/** Monotonic milliseconds; immune to wall-clock jumps. */
export const now = (): number => performance.now();

/**
 * The deadline of one invocation: the function's configured timeout minus a safety
 * margin, counted from when the invocation started. Its `signal` aborts at expiry or
 * when the invocation is cancelled (client gone, shutdown).
 *
 * The signal and its timer are made on first use: most invocations only read the time
 * left (database budgets), and an AbortController plus a timer per request is measurable
 * on the hot path.
 */
export class Deadline {
  readonly startedAt: number;
  readonly expiresAt: number;
  #controller: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Set by {@link abort} before anyone asked for the signal. */
  #abortReason: { reason: unknown } | undefined;
  #disposed = false;

  constructor({ timeoutMs, safetyMarginMs, startedAt = now() }: { timeoutMs: number; safetyMarginMs: number; startedAt?: number }) {
    this.startedAt = startedAt;
    this.expiresAt = startedAt + Math.max(0, timeoutMs - safetyMarginMs);
  }

  /** Aborts at expiry (with `DEADLINE_EXCEEDED`) or when {@link abort} is called. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#controller = controller;
      const left = this.remainingMs();
      if (this.#abortReason !== undefined) {
        controller.abort(this.#abortReason.reason);
      } else if (left <= 0) {
        controller.abort(expired());
      } else if (!this.#disposed) {
        this.#timer = setTimeout(() => controller.abort(expired()), left);
        // The timer must never keep a finished or shutting-down process alive.
        this.#timer.unref();
      }
    }
    return this.#controller.signal;
  }

  /** Milliseconds left before the deadline (0 when passed). */
  remainingMs(at: number = now()): number {
    return Math.max(0, this.expiresAt - at);
  }

  /** The budget for `tier`: the smaller of the tier and the time left. */
  budgetMs(tier: Tier, at: number = now()): number {
    return Math.min(TIERS[tier], this.remainingMs(at));
  }

  /** Cancels the invocation (e.g. the client went away); work observing `signal` stops. */
  abort(reason: unknown): void {
    if (this.#controller === undefined) this.#abortReason ??= { reason };
    else this.#controller.abort(reason);
  }

  /** Clears the timer; call when the invocation ends. */
  dispose(): void {
    this.#disposed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

function expired(): DeadlineExceededError {
  return new DeadlineExceededError('The invocation deadline has passed');
}

const storage = new AsyncLocalStorage<Deadline>();

/** Runs `fn` with `deadline` as the current invocation's deadline. */
export function runWithDeadline<T>(deadline: Deadline, fn: () => T): T {
  return storage.run(deadline, fn);
}

/** The current invocation's deadline, if inside one. */
export function currentDeadline(): Deadline | undefined {
  return storage.getStore();
}

/**
 * The budget in ms for `tier` right now: `min(tier, time left)` inside an invocation, the
 * tier alone outside one (scripts, migrations, shutdown flushes carry their own limits).
 */
export function budgetMs(tier: Tier, deadline: Deadline | undefined = currentDeadline()): number {
  return deadline === undefined ? TIERS[tier] : deadline.budgetMs(tier);
}

/** One unit of work's budget: an absolute expiry and a signal that fires at it. */
export interface Budget {
  readonly tier: Tier;
  /** The budget when it was granted. */
  readonly ms: number;
  /** Monotonic expiry. */
  readonly expiresAt: number;
  /** Aborts at expiry or when the invocation is cancelled. */
  readonly signal: AbortSignal;
  /** Milliseconds left in this budget. */
  remainingMs(): number;
}

/**
 * Runs `fn` under the budget of `tier`. The timer is always cleared in `finally`; if the
 * budget is already spent, `fn` is not started. `fn` must pass `budget.signal` (or the
 * budget's ms) to whatever it waits on; a rejection caused by the abort becomes
 * `DEADLINE_EXCEEDED`.
 */
export async function withBudget<T>(tier: Tier, fn: (budget: Budget) => Promise<T>): Promise<T> {
  const deadline = currentDeadline();
  const start = now();
  const ms = budgetMs(tier, deadline);
  if (ms <= 0) throw new DeadlineExceededError(`No time left for ${tier} work`);
  const controller = new AbortController();
  const expiresAt = start + ms;
  const timer = setTimeout(() => controller.abort(new DeadlineExceededError(`The ${tier} budget of ${Math.round(ms)} ms ran out`)), ms);
  const onParentAbort = (): void => controller.abort(deadline?.signal.reason);
  deadline?.signal.addEventListener('abort', onParentAbort, { once: true });
  const budget: Budget = {
    tier,
    ms,
    expiresAt,
    signal: controller.signal,
    remainingMs: () => Math.max(0, expiresAt - now()),
  };
  try {
    return await fn(budget);
  } catch (error) {
    if (controller.signal.aborted && !(error instanceof DeadlineExceededError)) {
      const reason: unknown = controller.signal.reason;
      throw reason instanceof DeadlineExceededError ? new DeadlineExceededError(reason.message, error) : error;
    }
    throw error;
  } finally {
    clearTimeout(timer);
    deadline?.signal.removeEventListener('abort', onParentAbort);
  }
}

/**
 * Settles like `promise`, or rejects with the signal's reason as soon as it aborts —
 * for work that cannot take a signal itself. The listener is always removed.
 */
export async function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    throw signal.reason;
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    promise.catch(() => undefined);
  }
}

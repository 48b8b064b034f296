import { now } from '../deadline/index.js';

/** How often statements still waiting on the server are checked against their give-up time. */
export const BACKSTOP_SWEEP_MS = 100;

/** A statement the client is waiting on, and when it stops waiting. */
interface Watched {
  giveUpAt: number;
  giveUp: () => void;
}

const watched = new Set<Watched>();
let sweeper: NodeJS.Timeout | undefined;

/**
 * Settles as `work` does, or rejects with `onGiveUp()` once `giveUpAt` (a {@link now}
 * time) has passed and `work` still has not — within {@link BACKSTOP_SWEEP_MS} after it.
 *
 * One sweeping timer for every statement in flight rather than a timer (and a promise
 * racing it) per statement: the backstop only matters to a server that stopped answering,
 * and arming and clearing a timer around every query was a measurable part of what a
 * tiered query costs over a raw one (`npm run bench:runtime`). The sweep runs only while
 * statements are in flight, and never keeps the process alive on its own (the socket the
 * statement waits on does).
 */
export function withBackstop<T>(work: Promise<T>, giveUpAt: number, onGiveUp: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const entry: Watched = { giveUpAt, giveUp: () => reject(onGiveUp()) };
    watched.add(entry);
    if (sweeper === undefined) {
      sweeper = setInterval(sweep, BACKSTOP_SWEEP_MS);
      sweeper.unref();
    }
    work.then(
      (value) => {
        watched.delete(entry);
        resolve(value);
      },
      (error: unknown) => {
        watched.delete(entry);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- pg's own rejection, passed through unchanged (callers map it)
        reject(error);
      },
    );
  });
}

function sweep(): void {
  const at = now();
  for (const entry of watched) {
    if (entry.giveUpAt > at) continue;
    watched.delete(entry);
    entry.giveUp();
  }
  if (watched.size === 0 && sweeper !== undefined) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

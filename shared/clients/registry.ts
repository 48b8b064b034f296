import { log } from '../log/index.js';

/** Lifecycle of one cached client. */
export type ClientState = 'idle' | 'creating' | 'ready' | 'failed' | 'closed';

export interface ClientStats {
  name: string;
  state: ClientState;
  /** Successful creations (1 for a healthy instance; more only after a reset). */
  creations: number;
  /** Failed creation attempts (never cached: the next call tries again). */
  failures: number;
  createdAt: string | undefined;
  lastError: string | undefined;
}

export interface LazyClientOptions<T> {
  /** Builds the client. Runs once per instance; concurrent first callers share the attempt. */
  create: () => Promise<T> | T;
  /** Releases the client at shutdown. Called once, in reverse creation order. */
  close?: (client: T) => Promise<void> | void;
}

interface Entry<T> {
  name: string;
  options: LazyClientOptions<T>;
  state: ClientState;
  pending: Promise<T> | undefined;
  value: T | undefined;
  creations: number;
  failures: number;
  createdAt: Date | undefined;
  lastError: string | undefined;
}

/**
 * Module scope on purpose: it lives as long as the instance, so warm invocations reuse
 * what the first one built. `creationOrder` drives shutdown (reverse order: a client
 * created later may depend on an earlier one).
 */
const entries = new Map<string, Entry<unknown>>();
const creationOrder: string[] = [];
let closing: Promise<void> | undefined;

/** A function that returns the one instance of a client, creating it on first use. */
export type ClientGetter<T> = (() => Promise<T>) & { readonly clientName: string; peek(): T | undefined };

/**
 * Registers a lazily created client under `name` and returns its getter. Registering
 * the same name twice returns a getter for the first registration (modules may be
 * evaluated once per bundle, but the name is the identity).
 */
export function lazyClient<T>(name: string, options: LazyClientOptions<T>): ClientGetter<T> {
  if (!entries.has(name)) {
    entries.set(name, {
      name,
      options: options as LazyClientOptions<unknown>,
      state: 'idle',
      pending: undefined,
      value: undefined,
      creations: 0,
      failures: 0,
      createdAt: undefined,
      lastError: undefined,
    });
  }
  const getter = function getClient(): Promise<T> {
    return acquire(name) as Promise<T>;
  };
  return Object.assign(getter, {
    clientName: name,
    peek: (): T | undefined => entries.get(name)?.value as T | undefined,
  });
}

function acquire(name: string): Promise<unknown> {
  const entry = entries.get(name);
  if (entry === undefined) return Promise.reject(new Error(`Client ${name} was never registered`));
  if (entry.state === 'ready') return Promise.resolve(entry.value);
  if (entry.pending !== undefined) return entry.pending;
  if (closing !== undefined || entry.state === 'closed') {
    return Promise.reject(new Error(`Client ${name} is closed: the instance is shutting down`));
  }
  entry.state = 'creating';
  const attempt = (async () => {
    try {
      const value = await entry.options.create();
      entry.value = value;
      entry.state = 'ready';
      entry.creations += 1;
      entry.createdAt = new Date();
      entry.lastError = undefined;
      creationOrder.push(name);
      return value;
    } catch (error) {
      // A failed creation is not cached: the next call starts a fresh attempt.
      entry.state = 'failed';
      entry.failures += 1;
      entry.lastError = error instanceof Error ? error.message : String(error);
      throw error;
    } finally {
      entry.pending = undefined;
    }
  })();
  entry.pending = attempt;
  return attempt;
}

/** The state of every registered client, for health and debugging. */
export function clientStats(): ClientStats[] {
  return [...entries.values()].map((e) => ({
    name: e.name,
    state: e.state,
    creations: e.creations,
    failures: e.failures,
    createdAt: e.createdAt?.toISOString(),
    lastError: e.lastError,
  }));
}

/**
 * Closes every created client in reverse creation order. Idempotent: a second call
 * returns the first call's promise. A close error is logged and does not stop the others.
 */
export function closeClients(): Promise<void> {
  closing ??= (async () => {
    // Let in-progress creations settle so nothing is opened after we closed it.
    await Promise.allSettled([...entries.values()].map((e) => e.pending ?? Promise.resolve(undefined)));
    for (const name of [...creationOrder].reverse()) {
      const entry = entries.get(name);
      if (entry === undefined || entry.state !== 'ready') continue;
      entry.state = 'closed';
      try {
        await entry.options.close?.(entry.value);
      } catch (error) {
        log.error('Closing a client failed', error, { client: name });
      }
      entry.value = undefined;
    }
  })();
  return closing;
}

/**
 * Test helper: closes everything, then forgets all state so the next call creates anew.
 * Registrations are kept (module-level getters stay valid).
 */
export async function resetClients(): Promise<void> {
  await closeClients();
  for (const entry of entries.values()) {
    entry.state = 'idle';
    entry.value = undefined;
    entry.pending = undefined;
    entry.creations = 0;
    entry.failures = 0;
    entry.createdAt = undefined;
    entry.lastError = undefined;
  }
  creationOrder.length = 0;
  closing = undefined;
}

/** Test helper: removes one registration entirely (after closing it if created). */
export async function unregisterClient(name: string): Promise<void> {
  const entry = entries.get(name);
  if (entry === undefined) return;
  if (entry.pending !== undefined) await entry.pending.catch(() => undefined);
  if (entry.state === 'ready') await entry.options.close?.(entry.value);
  entries.delete(name);
  const i = creationOrder.indexOf(name);
  if (i >= 0) creationOrder.splice(i, 1);
}

import { AsyncLocalStorage } from 'node:async_hooks';
import type { TraceContext } from './trace.js';

/** Fields every log line of one invocation carries. */
export interface LogContext {
  function?: string;
  executionId?: string;
  requestId?: string;
  org?: string;
  /** The pipeline run an event invocation works on. */
  runId?: string;
  trace?: TraceContext;
}

const storage = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `context` merged over the current one. */
export function withLogContext<T>(context: LogContext, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...context }, fn);
}

/** The current invocation's context (empty outside one). */
export function getLogContext(): LogContext {
  return storage.getStore() ?? {};
}

/** Adds fields (e.g. `org` once the caller is authenticated) to the current context. */
export function addLogContext(fields: Partial<LogContext>): void {
  const store = storage.getStore();
  if (store !== undefined) Object.assign(store, fields);
}

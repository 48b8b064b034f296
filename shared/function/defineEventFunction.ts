import { cloudEvent } from '@google-cloud/functions-framework';
import type { z } from 'zod';
import { runtimeConfig } from '../config/index.js';
import { createEventHandler, type EventHandler, type MessageContext } from '../pubsub/index.js';

/** What a Pub/Sub-triggered function declares. */
export interface EventFunctionDefinition<S extends z.ZodType> {
  /** The message payload (the JSON inside `message.data`); a message that fails it is acked as poison. */
  schema: S;
  /**
   * Handles one parsed message. Return to ack. Throw to have Pub/Sub retry — except a
   * non-retryable `AppError` (e.g. `InvalidArgumentError`), which is acked and logged at
   * ERROR, since redelivering it cannot help.
   */
  handle: (message: z.infer<S>, context: MessageContext) => Promise<void>;
  /** Messages older than this are dropped (acked) with an ERROR log. @default 86_400_000 (24 h) */
  maxAgeMs?: number;
  /** Called with the payload of a message dropped for its age, before it is acked (e.g. to fail its run). */
  onExpired?: (message: z.infer<S>, context: MessageContext) => Promise<void>;
}

/**
 * Declares a Pub/Sub-triggered function (a CloudEvent of a push subscription) — the one
 * way a `functions/<name>/index.ts` with a topic trigger registers itself.
 *
 * ```ts
 * defineEventFunction('pipeline-worker', { schema: runRequest, handle: runPipeline });
 * ```
 *
 * Wires the registration with functions-framework (`cloudEvent(target, …)`), the decode
 * and parse of the message, the acknowledgement contract of `shared/pubsub` (poison and
 * stale messages acked, transient failures retried), the invocation's deadline (the
 * manifest timeout minus the safety margin), log context (function name from the runtime
 * config, message id as execution and request id) and graceful shutdown.
 *
 * Call it once, at module load. Returns the event handler (tests may call it directly).
 */
/** A declared event function, as the message document generator finds it. */
export interface DefinedEventFunction {
  target: string;
  /** The payload it accepts (the JSON inside `message.data`). */
  schema: z.ZodType;
}

/** Every event function declared in this process, by target. */
const defined = new Map<string, DefinedEventFunction>();

/** The event functions declared in this process (every one whose module was imported), by target. */
export function definedEventFunctions(): ReadonlyMap<string, DefinedEventFunction> {
  return defined;
}

export function defineEventFunction<S extends z.ZodType>(
  target: string,
  { schema, handle, maxAgeMs, onExpired }: EventFunctionDefinition<S>,
): EventHandler {
  const handler = createEventHandler({ name: runtimeConfig().functionName, schema, handler: handle, maxAgeMs, onExpired });
  cloudEvent(target, handler);
  defined.set(target, { target, schema });
  return handler;
}

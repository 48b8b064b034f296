import type { CloudEvent } from '@google-cloud/functions-framework';
import type { z } from 'zod';
import { runtimeConfig } from '../config/index.js';
import { Deadline, runWithDeadline } from '../deadline/index.js';
import { isAppError, toAppError } from '../errors/index.js';
import { installShutdownHandlers, trackInvocation } from '../lifecycle/index.js';
import { installRequestGate } from '../http/index.js';
import { log, withLogContext } from '../log/index.js';
import { decodeMessage, messageIdOf, publishTimeOf } from './decode.js';

/**
 * The largest push body an event function reads: a Pub/Sub push envelope around one of our
 * messages (run requests, maintenance ticks — a few hundred bytes of JSON, base64-encoded)
 * is far smaller; anything bigger is not ours and is refused (`413`) after 64 KiB at most.
 */
export const PUSH_BODY_LIMIT = 64 * 1024;

/** The paths a push may be sent to: `/`, or `/projects/<project>/topics/<topic>`; a query string allowed. */
const PUSH_PATH = /^\/(?:projects\/[^/?#]+\/topics\/[^/?#]+)?(?:\?.*)?$/;

/** What a message handler gets besides the parsed payload. */
export interface MessageContext {
  messageId: string | undefined;
  publishTime: Date | undefined;
  /** How many times Pub/Sub tried before (from the push envelope, when known). */
  deliveryAttempt: number | undefined;
  deadline: Deadline;
}

export interface EventFunctionOptions<S extends z.ZodType> {
  name: string;
  schema: S;
  handler: (message: z.infer<S>, context: MessageContext) => Promise<void>;
  /** Messages older than this are dropped with an error log (acked). @default 86_400_000 (24 h) */
  maxAgeMs?: number;
  /**
   * Called with the payload of a message dropped for its age (when it parses), before it is
   * acked — e.g. to fail the work it stood for. Its errors are logged; the message is acked.
   */
  onExpired?: (message: z.infer<S>, context: MessageContext) => Promise<void>;
}

/** The CloudEvent handler functions-framework calls. */
export type EventHandler = (event: CloudEvent<unknown>) => Promise<void>;

/**
 * Builds a Pub/Sub-triggered function. The acknowledgement contract:
 * - returns normally (2xx, acked): handled; poison (bad base64/JSON/schema, or a
 *   non-retryable `AppError` from the handler), logged at ERROR; too old, logged at ERROR;
 * - throws (non-2xx, Pub/Sub retries): transient failures — deadline, unavailable,
 *   anything unexpected.
 */
export function createEventHandler<S extends z.ZodType>({ name, schema, handler, maxAgeMs = 86_400_000, onExpired }: EventFunctionOptions<S>): EventHandler {
  const config = runtimeConfig();
  const timeoutMs = config.FUNCTION_TIMEOUT_SECONDS * 1000;
  const safetyMarginMs = config.DEADLINE_SAFETY_MARGIN_MS;
  installShutdownHandlers({ drainTimeoutMs: config.SHUTDOWN_DRAIN_MS });
  // A push body is read, inflated and parsed before the handler runs: bound it like any body,
  // by the push limit — our messages are well under a KiB, so no push body is "large".
  // A push comes to the function's root URL, or to `/projects/P/topics/T` (a Pub/Sub push
  // endpoint whose path names the topic: functions-framework makes the CloudEvent's source
  // of it); nothing else takes a body.
  installRequestGate((req) => (req.method === 'POST' && PUSH_PATH.test(req.url ?? '') ? { limit: PUSH_BODY_LIMIT } : undefined), { healthz: true });

  return async function handleEvent(event: CloudEvent<unknown>): Promise<void> {
    const deadline = new Deadline({ timeoutMs, safetyMarginMs });
    const messageId = messageIdOf(event.data, event.id);
    await withLogContext({ function: name, executionId: messageId, requestId: messageId }, () =>
      runWithDeadline(deadline, async () => {
        const done = trackInvocation(deadline);
        try {
          const publishTime = publishTimeOf(event.data, event.time);
          const ageMs = publishTime === undefined ? undefined : Date.now() - publishTime.getTime();
          if (ageMs !== undefined && ageMs > maxAgeMs) {
            log.error('Dropped a message older than the maximum age', undefined, {
              message_id: messageId,
              publish_time: publishTime?.toISOString(),
              age_ms: ageMs,
              max_age_ms: maxAgeMs,
            });
            if (onExpired !== undefined) {
              try {
                await onExpired(decodeMessage(event.data, schema), { messageId, publishTime, deliveryAttempt: undefined, deadline });
              } catch (error) {
                log.error('Handling an expired message failed; it is acked anyway', error, { message_id: messageId });
              }
            }
            return;
          }
          let payload: z.infer<S>;
          try {
            payload = decodeMessage(event.data, schema);
          } catch (error) {
            log.error('Acked a poison message', error, { message_id: messageId, details: isAppError(error) ? error.details : undefined });
            return;
          }
          const attempt = (event.data as { deliveryAttempt?: number } | undefined)?.deliveryAttempt;
          try {
            await handler(payload, { messageId, publishTime, deliveryAttempt: attempt, deadline });
          } catch (error) {
            const appError = toAppError(error);
            if (isAppError(error) && !appError.retryable) {
              log.error('Acked a message the handler rejected as invalid', error, { message_id: messageId, code: appError.code });
              return;
            }
            log.error('Message handling failed; Pub/Sub will retry', error, { message_id: messageId, code: appError.code });
            throw error;
          }
        } finally {
          deadline.dispose();
          done();
        }
      }),
    );
  };
}

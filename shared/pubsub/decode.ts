import type { z } from 'zod';
import { invalidArgumentFromZod, InvalidArgumentError } from '../errors/index.js';

/** The Pub/Sub push envelope inside a CloudEvent's `data`. */
export interface PubSubMessageData {
  message?: {
    data?: string;
    messageId?: string;
    message_id?: string;
    publishTime?: string;
    publish_time?: string;
    attributes?: Record<string, string>;
  };
  subscription?: string;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes `data.message.data` (base64 → UTF-8 → JSON) and parses it with `schema`.
 * Every failure is an `InvalidArgumentError`: the message is poison and will never
 * succeed, however often Pub/Sub redelivers it.
 */
export function decodeMessage<S extends z.ZodType>(data: unknown, schema: S): z.infer<S> {
  const encoded = (data as PubSubMessageData | undefined)?.message?.data;
  if (typeof encoded !== 'string' || encoded.length === 0) {
    throw new InvalidArgumentError('The message has no data', [{ path: 'message.data', message: 'Required' }]);
  }
  if (!BASE64.test(encoded)) {
    throw new InvalidArgumentError('The message data is not valid base64', [{ path: 'message.data', message: 'Invalid base64' }]);
  }
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError('The message data is not valid JSON', [{ path: 'message.data', message: 'Malformed JSON' }], error);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw invalidArgumentFromZod(parsed.error, 'message');
  return parsed.data;
}

/** When the message was published (push envelope first, CloudEvent `time` second). */
export function publishTimeOf(data: unknown, eventTime: string | undefined): Date | undefined {
  const message = (data as PubSubMessageData | undefined)?.message;
  const raw = message?.publishTime ?? message?.publish_time ?? eventTime;
  if (raw === undefined) return undefined;
  const date = new Date(raw);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export function messageIdOf(data: unknown, eventId: string | undefined): string | undefined {
  const message = (data as PubSubMessageData | undefined)?.message;
  return message?.messageId ?? message?.message_id ?? eventId;
}

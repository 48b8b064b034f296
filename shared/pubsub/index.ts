/** The Pub/Sub CloudEvent wrapper: decode, parse, ack poison, retry transient, drop stale. */
export { createEventHandler, type EventFunctionOptions, type EventHandler, type MessageContext } from './createEventHandler.js';
export { decodeMessage, publishTimeOf, type PubSubMessageData } from './decode.js';

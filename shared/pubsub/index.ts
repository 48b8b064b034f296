/** Pub/Sub: the CloudEvent wrapper (decode, parse, ack poison, retry transient, drop stale) and the publisher. */
export { createEventHandler, type EventFunctionOptions, type EventHandler, type MessageContext } from './createEventHandler.js';
export { decodeMessage, publishTimeOf, type PubSubMessageData } from './decode.js';
export { LOCAL_PROJECT_ID, parsePubSubConfig, type PubSubConfig } from './config.js';
export { createPublisher, getPublisher, pubSubConfig, resetPubSubConfig, type PublishOptions, type Publisher, type PublisherDeps } from './publisher.js';

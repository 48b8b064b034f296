/** The official Pub/Sub emulator for the local stack and the tests: process harness and REST admin client. */
export { INSTALL_EMULATOR, INSTALL_JAVA, findGcloud, processGroupAlive, startPubSubEmulator, type PubSubEmulator, type PubSubEmulatorOptions } from './emulator.js';
export { PubSubAdmin, type DeadLetterPolicy, type PulledMessage, type RetryPolicy, type SubscriptionOptions } from './admin.js';
export { EmulatorRequestError, EmulatorStartError, EmulatorUnavailableError } from './errors.js';
export { deadLetterTopicsOf, startLocalPubSub, type LocalPubSub, type PubSubInfo } from './localPubSub.js';

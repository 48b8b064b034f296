/**
 * The one way to declare a function: `defineHttpFunction` for the HTTP API, and
 * `defineEventFunction` for Pub/Sub-triggered work. Each composes the framework
 * registration, the function's name from config, the invocation-end hooks and graceful
 * shutdown, so a `functions/<name>/index.ts` says only what is its own.
 */
export { defineHttpFunction, definedHttpFunctions, type DefinedHttpFunction, type HttpFunctionDefinition } from './defineHttpFunction.js';
export { defineEventFunction, definedEventFunctions, type DefinedEventFunction, type EventFunctionDefinition } from './defineEventFunction.js';

/** The HTTP function wrapper: routing, input parsing, errors, access logs, `/healthz`. */
export { createHttpHandler, type HttpFunctionOptions, type HttpHandler } from './createHttpHandler.js';
export type { AuditEvent } from './afterwork.js';
export { route } from './route.js';
export { requestIdFrom } from './requestId.js';
export type { AnyRoute, Authenticator, HandlerContext, HttpMethod, HttpResult, ResponseHeaderSpec, ResponseSpec, ResponsesSpec, ResultOf, RouteSpec, SecurityScheme, SuccessStatus } from './types.js';
export { SerializedJson, STREAMED, StreamedBody } from './types.js';
export { writeChunk } from './writeChunk.js';
export { cursorParam, decodeCursor, DEFAULT_PAGE_SIZE, encodeCursor, limitParam, MAX_PAGE_SIZE } from './cursor.js';
export { assertUtf8Body, storableText, withUtf8Body } from './text.js';
export { installRequestGate, type BodyLimitFor, type BodyPlan } from './requestGate.js';
export { keysetPage, pageSchema, type KeysetPageOptions, type Page } from './keysetPage.js';
export { noQuery } from './noQuery.js';
export { whenReady } from './thenable.js';
export { calendarDay, timestamp } from './responseFields.js';
export { exactDecimal, type ExactDecimalOptions } from './exactDecimal.js';

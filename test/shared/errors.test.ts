/**
 * `shared/errors`: the error family (codes, statuses, retryability), the boundary that
 * wraps foreign errors, the API error envelope, and the zod mapping of bad input.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  AlreadyExistsError,
  AppError,
  DeadlineExceededError,
  ERROR_STATUS,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  QuotaExceededError,
  RETRYABLE_CODES,
  UnauthenticatedError,
  UnavailableError,
  errorEnvelope,
  invalidArgumentFromZod,
  isAppError,
  toAppError,
  zodDetails,
  type ErrorCode,
} from '../../shared/errors/index.js';

describe('the error family', () => {
  it.each<{ error: AppError; name: string; code: ErrorCode; status: number }>([
    { error: new InvalidArgumentError('bad'), name: 'InvalidArgumentError', code: 'INVALID_ARGUMENT', status: 400 },
    { error: new UnauthenticatedError(), name: 'UnauthenticatedError', code: 'UNAUTHENTICATED', status: 401 },
    { error: new PermissionDeniedError(), name: 'PermissionDeniedError', code: 'PERMISSION_DENIED', status: 403 },
    { error: new NotFoundError(), name: 'NotFoundError', code: 'NOT_FOUND', status: 404 },
    { error: new AlreadyExistsError('taken'), name: 'AlreadyExistsError', code: 'ALREADY_EXISTS', status: 409 },
    { error: new QuotaExceededError('too many'), name: 'QuotaExceededError', code: 'QUOTA_EXCEEDED', status: 429 },
    { error: new InternalError('boom'), name: 'InternalError', code: 'INTERNAL', status: 500 },
    { error: new UnavailableError('busy'), name: 'UnavailableError', code: 'UNAVAILABLE', status: 503 },
    { error: new DeadlineExceededError('late'), name: 'DeadlineExceededError', code: 'DEADLINE_EXCEEDED', status: 504 },
  ])('$name carries code $code and status $status', ({ error, name, code, status }) => {
    expect(error).toBeInstanceOf(AppError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(ERROR_STATUS[code]).toBe(status);
  });

  it('takes its status from the one table for every code, including those without a subclass', () => {
    for (const code of Object.keys(ERROR_STATUS) as ErrorCode[]) {
      expect(new AppError(code, 'x').status).toBe(ERROR_STATUS[code]);
    }
    expect(new AppError('METHOD_NOT_ALLOWED', 'x').status).toBe(405);
    expect(new AppError('PAYLOAD_TOO_LARGE', 'x').status).toBe(413);
    expect(new AppError('UNSUPPORTED_MEDIA_TYPE', 'x').status).toBe(415);
  });

  it('calls exactly UNAVAILABLE, DEADLINE_EXCEEDED and INTERNAL retryable', () => {
    const retryable = (Object.keys(ERROR_STATUS) as ErrorCode[]).filter((code) => new AppError(code, 'x').retryable);

    expect(retryable.sort()).toEqual(['DEADLINE_EXCEEDED', 'INTERNAL', 'UNAVAILABLE']);
    expect([...RETRYABLE_CODES].sort()).toEqual(retryable);
  });

  it('marks 5xx codes as server errors and 4xx codes as not', () => {
    expect(new InternalError('x').isServerError).toBe(true);
    expect(new UnavailableError('x').isServerError).toBe(true);
    expect(new DeadlineExceededError('x').isServerError).toBe(true);
    expect(new NotFoundError().isServerError).toBe(false);
    expect(new QuotaExceededError('x').isServerError).toBe(false);
  });

  it('keeps the cause, details, Retry-After seconds and headers it is given', () => {
    const cause = new Error('pg said no');

    const error = new AppError('METHOD_NOT_ALLOWED', 'Use GET', {
      cause,
      details: [{ path: 'method', message: 'not allowed' }],
      retryAfterSeconds: 7,
      headers: { Allow: 'GET, HEAD' },
    });

    expect(error.cause).toBe(cause);
    expect(error.details).toEqual([{ path: 'method', message: 'not allowed' }]);
    expect(error.retryAfterSeconds).toBe(7);
    expect(error.headers).toEqual({ Allow: 'GET, HEAD' });
  });

  it('defaults to no details, no headers, no Retry-After and no cause', () => {
    const error = new NotFoundError();

    expect(error.details).toEqual([]);
    expect(error.headers).toEqual({});
    expect(error.retryAfterSeconds).toBeUndefined();
    expect('cause' in error).toBe(false);
  });

  it('gives UNAVAILABLE a Retry-After of 1 second unless told otherwise', () => {
    expect(new UnavailableError('busy').retryAfterSeconds).toBe(1);
    expect(new UnavailableError('busy', { retryAfterSeconds: 30 }).retryAfterSeconds).toBe(30);
  });

  it('gives QUOTA_EXCEEDED the Retry-After it is given, and none by default', () => {
    expect(new QuotaExceededError('x', 3600).retryAfterSeconds).toBe(3600);
    expect(new QuotaExceededError('x').retryAfterSeconds).toBeUndefined();
  });
});

describe('the boundary (isAppError, toAppError)', () => {
  it('recognises an error of the family made by another copy of the module (a second bundle)', () => {
    const fromOtherCopy = Object.assign(new Error('Not found'), { code: 'NOT_FOUND', status: 404, details: [] });

    expect(isAppError(fromOtherCopy)).toBe(true);
    expect(toAppError(fromOtherCopy)).toBe(fromOtherCopy);
  });

  it.each([
    ['a plain Error', new Error('ECONNRESET')],
    ['an Error with a string code but no status (a Node system error)', Object.assign(new Error('x'), { code: 'ECONNREFUSED' })],
    ['an Error with code and status but no details', Object.assign(new Error('x'), { code: 'NOT_FOUND', status: 404 })],
    ['a string', 'boom'],
    ['undefined', undefined],
    ['a plain object shaped like an AppError', { code: 'NOT_FOUND', status: 404, details: [] }],
  ])('does not take %s for an AppError', (_name, value) => {
    expect(isAppError(value)).toBe(false);
  });

  it('passes an AppError through unchanged', () => {
    const error = new QuotaExceededError('Daily limit reached', 60);

    expect(toAppError(error)).toBe(error);
  });

  it('wraps a foreign error as 500 INTERNAL "Internal error", keeping the original as cause', () => {
    const foreign = new TypeError("Cannot read properties of undefined (reading 'rows')");

    const wrapped = toAppError(foreign);

    expect(wrapped).toBeInstanceOf(InternalError);
    expect(wrapped).toMatchObject({ code: 'INTERNAL', status: 500, message: 'Internal error' });
    expect(wrapped.cause).toBe(foreign);
  });
});

describe('errorEnvelope', () => {
  it('has exactly the shape of API.md: {error: {code, message, details, request_id}}', () => {
    const error = new InvalidArgumentError('Invalid body: seats', [{ path: 'seats', message: 'Too small' }]);

    const envelope = errorEnvelope(error, 'req-123');

    expect(envelope).toEqual({
      error: { code: 'INVALID_ARGUMENT', message: 'Invalid body: seats', details: [{ path: 'seats', message: 'Too small' }], request_id: 'req-123' },
    });
    expect(Object.keys(envelope)).toEqual(['error']);
  });

  it('answers INTERNAL with "Internal error" whatever the message, and drops its details', () => {
    const error = new AppError('INTERNAL', 'relation "secret_table" does not exist at /srv/app/store.ts:12', {
      details: [{ path: 'sql', message: 'SELECT * FROM secret_table' }],
    });

    const envelope = errorEnvelope(error, 'r');

    expect(envelope.error).toEqual({ code: 'INTERNAL', message: 'Internal error', details: [], request_id: 'r' });
  });

  it('keeps the written message of other 5xx codes but drops their details', () => {
    const error = new AppError('UNAVAILABLE', 'No database connection is free; retry', { details: [{ path: 'pool', message: 'waiting: 12' }] });

    expect(errorEnvelope(error, 'r').error).toMatchObject({ message: 'No database connection is free; retry', details: [] });
  });

  it('leaks no stack, cause or internal field of the error when serialised', () => {
    const cause = new Error('password authentication failed for user "cloudact" at 10.0.0.5');
    const wrapped = toAppError(cause);

    const text = JSON.stringify(errorEnvelope(wrapped, 'r'));

    expect(text).not.toContain('password');
    expect(text).not.toContain('10.0.0.5');
    expect(text).not.toMatch(/\bat .*:\d+:\d+/);
    expect(text).not.toContain('stack');
    expect(text).not.toContain('cause');
    expect(text).not.toContain('status');
  });
});

describe('zod mapping', () => {
  const item = z.strictObject({ seats: z.number().int().min(1), name: z.string() });
  const body = z.strictObject({ items: z.array(item), note: z.string().optional() });

  it('names each bad field by its dotted path, array indexes included', () => {
    const result = body.safeParse({ items: [{ seats: 1, name: 'a' }, { seats: 0, name: 7 }] });

    const details = zodDetails(result.error!);

    expect(details.map((d) => d.path)).toEqual(['items.1.seats', 'items.1.name']);
    for (const detail of details) expect(detail.message).not.toBe('');
  });

  it('gives one detail per unknown field, each named, instead of one at the parent', () => {
    const result = body.safeParse({ items: [{ seats: 1, name: 'a', colour: 'red', size: 2 }], extra: true });

    const details = zodDetails(result.error!);

    expect(details).toEqual(
      expect.arrayContaining([
        { path: 'items.0.colour', message: 'is not a known field' },
        { path: 'items.0.size', message: 'is not a known field' },
        { path: 'extra', message: 'is not a known field' },
      ]),
    );
    expect(details).toHaveLength(3);
  });

  it('puts a prefix in front of every path, and names a root failure by the prefix alone', () => {
    const nested = body.safeParse({ items: [{ seats: 'x', name: 'a' }] });
    const root = z.string().safeParse(5);

    expect(zodDetails(nested.error!, 'query').map((d) => d.path)).toEqual(['query.items.0.seats']);
    expect(zodDetails(root.error!, 'query').map((d) => d.path)).toEqual(['query']);
  });

  it('names a root failure "(root)" when there is no prefix', () => {
    const result = z.string().safeParse(5);

    expect(zodDetails(result.error!).map((d) => d.path)).toEqual(['(root)']);
  });

  it('makes a 400 whose message names at most five distinct fields, with every detail and the zod error as cause', () => {
    const many = z.object({ a: z.string(), b: z.string(), c: z.string(), d: z.string(), e: z.string(), f: z.string() });
    const result = many.safeParse({});

    const error = invalidArgumentFromZod(result.error!, 'body');

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.status).toBe(400);
    expect(error.message).toBe('Invalid body: a, b, c, d, e');
    expect(error.details.map((d) => d.path)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(error.cause).toBe(result.error);
  });

  it('names a field once in the message when it has several problems', () => {
    const twice = z.object({ slug: z.string().min(3).regex(/^[a-z]+$/) });
    const result = twice.safeParse({ slug: 'A' });

    const error = invalidArgumentFromZod(result.error!, 'query', 'q');

    expect(error.details).toHaveLength(2);
    expect(error.message).toBe('Invalid query: q.slug');
  });
});

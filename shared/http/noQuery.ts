import * as z from 'zod';

/**
 * The query schema of an endpoint that takes no query parameters: a strict empty object,
 * so `?anything` is a `400` naming the unknown key instead of being silently ignored.
 */
export const noQuery = z.strictObject({});

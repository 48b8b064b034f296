import * as z from 'zod';

/**
 * Field schemas of answers that several routes share, so the API document says them one
 * way: times are RFC 3339 UTC (what `Date.toISOString` writes), days `YYYY-MM-DD` (UTC).
 */
export const timestamp = z.iso.datetime().describe('RFC 3339, UTC');

/** A calendar day, UTC. */
export const calendarDay = z.iso.date().describe('YYYY-MM-DD, UTC');

import * as z from 'zod';
import { calendarDay, cursorParam, limitParam, pageSchema, storableText } from '../../shared/http/index.js';

export const BILLING_CYCLES = ['monthly', 'annual'] as const;
export const STATUSES = ['active', 'cancelled'] as const;
/** API.md: a bulk import takes at most this many items. */
export const MAX_BULK_ITEMS = 5000;
/** Bulk bodies may be this large (API.md: bulk import 8 MiB). */
export const BULK_MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Largest seat count accepted: far below `int`'s 2^31-1, far above any real plan. */
export const MAX_SEATS = 10_000_000;
/** Largest unit price accepted; `numeric(20,4)` would overflow at 10^16. */
export const MAX_UNIT_PRICE_USD = 1_000_000_000;

/**
 * A real calendar date `YYYY-MM-DD` (zod's ISO date knows month lengths and leap years:
 * `2024-02-30` and `2023-02-29` fail), within years PostgreSQL and people agree on.
 */
const isoDate = z.iso
  .date({ error: 'must be a real date YYYY-MM-DD' })
  .refine((d) => d >= '1900-01-01' && d <= '9999-12-31', { error: 'must be between 1900-01-01 and 9999-12-31' });

const fields = {
  vendor: storableText({ max: 200 }),
  plan_name: storableText({ max: 200 }),
  seats: z
    .number({ error: 'must be an integer' })
    .int({ error: 'must be an integer' })
    .min(1, { error: 'must be at least 1' })
    .max(MAX_SEATS, { error: `must be at most ${MAX_SEATS}` }),
  unit_price_usd: z
    .number({ error: 'must be a number' })
    .min(0, { error: 'must be at least 0' })
    .max(MAX_UNIT_PRICE_USD, { error: `must be at most ${MAX_UNIT_PRICE_USD}` }),
  billing_cycle: z.enum(BILLING_CYCLES, { error: 'must be monthly or annual' }),
  start_date: isoDate,
  end_date: isoDate.nullable(),
  status: z.enum(STATUSES, { error: 'must be active or cancelled' }),
};

/** A subscription's editable fields, complete (after defaults or after merging a patch). */
export interface SubscriptionFields {
  vendor: string;
  plan_name: string;
  seats: number;
  unit_price_usd: number;
  billing_cycle: (typeof BILLING_CYCLES)[number];
  start_date: string;
  end_date: string | null;
  status: (typeof STATUSES)[number];
}

/** Dates compare as strings: `YYYY-MM-DD` sorts like the calendar. */
function endsBeforeStart(s: { start_date: string; end_date: string | null }): boolean {
  return s.end_date !== null && s.end_date < s.start_date;
}

/** A new subscription: `end_date` defaults to null (open-ended), `status` to active. */
export const createBody = z
  .strictObject({
    ...fields,
    end_date: fields.end_date.default(null),
    status: fields.status.default('active'),
  })
  .refine((s) => !endsBeforeStart(s), { error: 'must be on or after start_date', path: ['end_date'] });

/** A patch: any subset of the fields, at least one. Cross-field rules run on the merged row. */
export const patchBody = z
  .strictObject({
    vendor: fields.vendor.optional(),
    plan_name: fields.plan_name.optional(),
    seats: fields.seats.optional(),
    unit_price_usd: fields.unit_price_usd.optional(),
    billing_cycle: fields.billing_cycle.optional(),
    start_date: fields.start_date.optional(),
    end_date: fields.end_date.optional(),
    status: fields.status.optional(),
  })
  .refine((p) => Object.keys(p).length > 0, { error: 'must change at least one field' });
export type PatchBody = z.infer<typeof patchBody>;

/**
 * Checks a merged row (existing values overlaid with a patch). The error names the field
 * the caller sent: `end_date` when the patch set it, otherwise `start_date`.
 */
export function mergedRowProblem(merged: SubscriptionFields, patch: PatchBody): { path: string; message: string } | undefined {
  if (!endsBeforeStart(merged)) return undefined;
  return patch.end_date !== undefined
    ? { path: 'end_date', message: `must be on or after start_date (${merged.start_date})` }
    : { path: 'start_date', message: `must be on or before end_date (${merged.end_date ?? ''})` };
}

/** A bulk import: 1…5000 items, each validated like a create; details name `items.<i>.<field>`. */
export const bulkBody = z.strictObject({
  items: z
    .array(createBody, { error: 'must be an array of subscriptions' })
    .min(1, { error: 'must contain at least one item' })
    .max(MAX_BULK_ITEMS, { error: `must contain at most ${MAX_BULK_ITEMS} items` }),
});

/** `GET /v1/subscriptions`: optional status filter, `limit` 1…500 (default 100), opaque `cursor`. */
export const listQuery = z.strictObject({
  status: fields.status.optional(),
  limit: limitParam,
  cursor: cursorParam,
});
export type ListQuery = z.infer<typeof listQuery>;

/** `/v1/subscriptions/{id}`: a UUID, else `400` (before any lookup). */
export const idParams = z.strictObject({ id: z.uuid({ error: 'must be a UUID' }) });

/** A subscription as the API answers it. */
export const subscriptionView = z.object({
  id: z.uuid(),
  vendor: z.string(),
  plan_name: z.string(),
  seats: z.int().min(1),
  unit_price_usd: z.number().min(0).describe('Per seat, per billing cycle'),
  billing_cycle: z.enum(BILLING_CYCLES),
  start_date: calendarDay,
  end_date: calendarDay.nullable().describe('Inclusive; null while it runs'),
  status: z.enum(STATUSES),
});

/** `GET /v1/subscriptions`: a page of subscriptions. */
export const subscriptionPage = pageSchema(subscriptionView);

/** `POST /v1/subscriptions/bulk`: how many were created (all, or none and a 400). */
export const bulkResult = z.object({ created: z.int() });

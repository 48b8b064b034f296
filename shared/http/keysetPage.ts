import * as z from 'zod';
import { decodeCursor, encodeCursor } from './cursor.js';

/** One page of a list, as every list endpoint answers it. */
export interface Page<T> {
  items: T[];
  /** Opaque; pass it back as `cursor` for the next page. `null` on the last page. */
  next_cursor: string | null;
}

/** The schema of a {@link Page} of `item`s, as list routes declare their answer. */
export function pageSchema<T extends z.ZodType>(item: T): z.ZodObject<{ items: z.ZodArray<T>; next_cursor: z.ZodNullable<z.ZodString> }> {
  return z.object({
    items: z.array(item),
    next_cursor: z.string().nullable().describe('Opaque; pass it back as `cursor` for the next page. `null` on the last page.'),
  });
}

export interface KeysetPageOptions<T> {
  /**
   * What a cursor is valid for: the endpoint, the org and every filter, e.g.
   * `pricing|<org id>|provider=openai`. A cursor from another scope is a `400`.
   */
  scope: string;
  /** The `cursor` query parameter as given; undefined for the first page. */
  cursor: string | undefined;
  /** Page size (the parsed `limit`). */
  limit: number;
  /** How many values the sort key has (the cursor's arity). */
  arity: number;
  /**
   * Loads up to `take` rows in key order, strictly after `after` (undefined: from the
   * start). Keyset, not OFFSET: rows written between two fetches cannot shift a row onto
   * a second page or off every page.
   */
  load: (after: string[] | undefined, take: number) => Promise<T[]>;
  /** The sort key of a row, in sort order: what the next page starts after. */
  keyOf: (item: T) => readonly string[];
}

/**
 * One page of a keyset-paginated list: decodes the cursor for its scope (a tampered or
 * foreign one is a `400` naming `cursor`), loads one row more than the page to learn
 * whether another page exists, and encodes the last row's key as `next_cursor`.
 */
export async function keysetPage<T>({ scope, cursor, limit, arity, load, keyOf }: KeysetPageOptions<T>): Promise<Page<T>> {
  const after = cursor === undefined ? undefined : decodeCursor(scope, cursor, arity);
  const rows = await load(after, limit + 1);
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, next_cursor: rows.length > limit && last !== undefined ? encodeCursor(scope, keyOf(last)) : null };
}

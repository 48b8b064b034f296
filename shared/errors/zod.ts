import type { z } from 'zod';
import { InvalidArgumentError, type ErrorDetail } from './AppError.js';

/** Turns zod issues into envelope details, each naming its field (`items.3.seats`). */
export function zodDetails(error: z.ZodError, prefix?: string): ErrorDetail[] {
  const join = (parts: (string | undefined)[]): string => {
    const path = parts.filter((p) => p !== undefined && p !== '').join('.');
    return path === '' ? (prefix ?? '(root)') : path;
  };
  return error.issues.flatMap((issue) => {
    const base = [prefix, ...issue.path.map(String)];
    // One detail per unknown field, named, rather than one anonymous detail at the parent.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: join([...base, key]), message: 'is not a known field' }));
    }
    return [{ path: join(base), message: issue.message }];
  });
}

/** A 400 naming every bad field of a zod failure. */
export function invalidArgumentFromZod(error: z.ZodError, what: string, prefix?: string): InvalidArgumentError {
  const details = zodDetails(error, prefix);
  const fields = [...new Set(details.map((d) => d.path))].slice(0, 5).join(', ');
  return new InvalidArgumentError(`Invalid ${what}: ${fields}`, details, error);
}

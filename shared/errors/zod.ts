import type { z } from 'zod';
import { InvalidArgumentError, type ErrorDetail } from './AppError.js';

/** Turns zod issues into envelope details, each naming its field (`items.3.seats`). */
export function zodDetails(error: z.ZodError, prefix?: string): ErrorDetail[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((p) => p !== undefined && p !== '').join('.');
    return { path: path === '' ? (prefix ?? '(root)') : path, message: issue.message };
  });
}

/** A 400 naming every bad field of a zod failure. */
export function invalidArgumentFromZod(error: z.ZodError, what: string, prefix?: string): InvalidArgumentError {
  const details = zodDetails(error, prefix);
  const fields = [...new Set(details.map((d) => d.path))].slice(0, 5).join(', ');
  return new InvalidArgumentError(`Invalid ${what}: ${fields}`, details, error);
}

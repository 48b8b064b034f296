/**
 * Small helpers shared by the emitters and the function registry (kept
 * apart so the two modules do not import each other at runtime).
 */
import { invalidQuery, unsupported } from '../errors.js';
import type { DatePart, Expr } from './ast.js';

const WEEKDAYS = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];

/**
 * A date part argument (`DAY`, `WEEK(MONDAY)`, `ISOWEEK`): the parser reads
 * it as a column name or a call, which it is not; throws naming the function
 * on anything else.
 */
export function datePartOf(e: Expr | undefined, fn: string): DatePart {
  if (e?.k === 'path' && e.parts.length === 1 && !e.parts[0]?.quoted) return { name: (e.parts[0]?.text as string).toUpperCase() };
  if (e?.k === 'call' && e.name === 'WEEK' && e.args.length === 1 && !e.over) {
    const arg = e.args[0];
    const wd = arg?.k === 'path' && arg.parts.length === 1 ? arg.parts[0]?.text.toUpperCase() : undefined;
    if (!wd || !WEEKDAYS.includes(wd)) throw invalidQuery(`Invalid WEEK day in ${fn}`);
    return { name: 'WEEK', weekday: wd };
  }
  if (e === undefined || (e.k !== 'path' && e.k !== 'call')) throw invalidQuery(`${fn} requires a date part such as DAY or MONTH`);
  throw invalidQuery(`${fn}: invalid date part`);
}

/** Index (0 = Sunday) of a weekday name. */
export function weekdayIndex(day: string): number {
  return WEEKDAYS.indexOf(day);
}

/** A DuckDB string literal. */
export function duckString(value: string): string {
  if (value.includes('\0')) throw unsupported('NUL characters in string literals');
  return `'${value.replace(/'/g, "''")}'`;
}

/** String value of a literal argument, or undefined when the argument is not a string literal. */
export function literalString(e: Expr | undefined): string | undefined {
  return e?.k === 'string' ? e.value : undefined;
}


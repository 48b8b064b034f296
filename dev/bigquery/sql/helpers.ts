/**
 * Small helpers shared by the translator and the function registry (kept
 * apart so the two modules do not import each other at runtime).
 */
import { invalidQuery, unsupported } from '../errors.js';
import { isGroup, wordOf } from './tree.js';
import type { SqlNode } from './tree.js';

/** A date/time part argument such as `DAY`, `WEEK(MONDAY)`, `ISOWEEK`. */
export interface DatePart {
  name: string;
  weekday?: string;
}

const WEEKDAYS = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];

/** Parses a date part argument (raw nodes); throws naming the function on anything else. */
export function parseDatePart(nodes: SqlNode[], fn: string): DatePart {
  const name = wordOf(nodes[0]);
  if (!name) throw invalidQuery(`${fn} requires a date part such as DAY or MONTH`);
  if (nodes.length === 1) return { name };
  if (name === 'WEEK' && nodes.length === 2 && isGroup(nodes[1])) {
    const wd = wordOf((nodes[1]).items[0]);
    if (!wd || !WEEKDAYS.includes(wd)) throw invalidQuery(`Invalid WEEK day in ${fn}`);
    return { name, weekday: wd };
  }
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

/** String value of a literal argument, or undefined when the argument is not a single string literal. */
export function literalString(nodes: SqlNode[]): string | undefined {
  const n = nodes[0];
  if (nodes.length === 1 && n && n.t === 'tok' && n.tok.kind === 'string') return n.tok.value;
  return undefined;
}


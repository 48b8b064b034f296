import { ConfigError } from './ConfigError.js';

/** The environment shape functions read from (`process.env` in production, a table in tests). */
export type Env = Record<string, string | undefined>;

/** What one variable's raw value parses to: its value, or what is wrong with it (a phrase starting "must"). */
export type EnvResult<T> = { value: T } | { problem: string };

/**
 * One environment variable. `raw` is trimmed, and undefined when the variable is unset or
 * empty, so `FOO=` in a shell behaves like no `FOO`.
 *
 * Plain functions rather than zod schemas: every function parses its environment at every
 * cold start, and as zod schemas the variables were ~180 schema objects built first (each
 * `envInt` a chain of them) — some 60 % of the schemas a start built (pipeline-worker: 299 → 115).
 */
export interface EnvVar<T> {
  parse(raw: string | undefined): EnvResult<T>;
}

/** Variable name → its parser. */
export type EnvShape = Record<string, EnvVar<unknown>>;

/** The parsed values of a shape. */
export type EnvValues<S extends EnvShape> = { [K in keyof S]: S[K] extends EnvVar<infer T> ? T : never };

/**
 * A rule across variables. It is checked only when every variable in `variables` parsed,
 * so one bad value never hides another problem: every bad variable is named in one go.
 */
export interface EnvCheck<V> {
  variables: readonly (keyof V & string)[];
  holds(values: V): boolean;
  /** The variable the problem is reported on, and the problem. */
  variable: keyof V & string;
  message: string;
}

/** Parses `env` by `shape`, failing with a {@link ConfigError} that names every problem. */
export function parseEnv<S extends EnvShape>(shape: S, env: Env, checks: readonly EnvCheck<EnvValues<S>>[] = []): EnvValues<S> {
  const values: Record<string, unknown> = {};
  const problems: { variable: string; message: string }[] = [];
  for (const [variable, parser] of Object.entries(shape)) {
    const trimmed = env[variable]?.trim();
    const result = parser.parse(trimmed === '' ? undefined : trimmed);
    if ('problem' in result) problems.push({ variable, message: result.problem });
    else values[variable] = result.value;
  }
  const parsed = values as EnvValues<S>;
  for (const check of checks) {
    if (check.variables.some((variable) => problems.some((p) => p.variable === variable))) continue;
    if (!check.holds(parsed)) problems.push({ variable: check.variable, message: check.message });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed;
}

/** `variable` unset → undefined; otherwise parsed by `parser`. */
export function optional<T>(parser: EnvVar<T>): EnvVar<T | undefined> {
  return { parse: (raw) => (raw === undefined ? { value: undefined } : parser.parse(raw)) };
}

/** An integer variable within bounds, with a default (without one it must be set). */
export function envInt({ min, max, default: fallback }: { min: number; max: number; default?: number }): EnvVar<number> {
  return {
    parse(raw) {
      if (raw === undefined && fallback !== undefined) return { value: fallback };
      // Number(): the coercion the schemas used ("1e3" is 1000, "0x10" is 16, "" never gets here).
      const value = raw === undefined ? Number.NaN : Number(raw);
      if (!Number.isSafeInteger(value)) return { problem: 'must be an integer' };
      if (value < min) return { problem: `must be at least ${min}` };
      if (value > max) return { problem: `must be at most ${max}` };
      return { value };
    },
  };
}

const BOOLEANS: Readonly<Record<string, boolean>> = { true: true, false: false, 1: true, 0: false, yes: true, no: false };

/** A boolean variable: `true|false|1|0|yes|no`. */
export function envBool(defaultValue: boolean): EnvVar<boolean> {
  return {
    parse(raw) {
      if (raw === undefined) return { value: defaultValue };
      return Object.hasOwn(BOOLEANS, raw) ? { value: BOOLEANS[raw] as boolean } : { problem: 'must be true or false' };
    },
  };
}

/** A required string: `description` is the problem when unset, `minimum.message` when shorter than `minimum.length`. */
export function envString(description = 'must be set', minimum?: { length: number; message: string }): EnvVar<string> {
  return {
    parse(raw) {
      if (raw === undefined) return { problem: description };
      if (minimum !== undefined && raw.length < minimum.length) return { problem: minimum.message };
      return { value: raw };
    },
  };
}

/** An optional string; with `pattern`, one that must match it (`message` otherwise). */
export function envText(format?: { pattern: RegExp; message: string }): EnvVar<string | undefined> {
  return {
    parse(raw) {
      if (raw === undefined) return { value: undefined };
      return format === undefined || format.pattern.test(raw) ? { value: raw } : { problem: format.message };
    },
  };
}

/** A string with a default. */
export function envTextOr(fallback: string): EnvVar<string> {
  return { parse: (raw) => ({ value: raw ?? fallback }) };
}

/** An optional absolute URL. */
export function envUrl(message: string): EnvVar<string | undefined> {
  return {
    parse(raw) {
      if (raw === undefined) return { value: undefined };
      return URL.canParse(raw) ? { value: raw } : { problem: message };
    },
  };
}

/**
 * One of `values`. Unset → `fallback`; a value not among them → `message`, or `fallback`
 * too when `lenient` (the log level: the logger reports every other configuration error).
 */
export function envEnum<const V extends string>(
  values: readonly V[],
  { fallback, message, lenient = false }: { fallback: V; message?: string; lenient?: boolean },
): EnvVar<V> {
  const allowed = new Set<string>(values);
  return {
    parse(raw) {
      if (raw === undefined) return { value: fallback };
      if (allowed.has(raw)) return { value: raw as V };
      return lenient ? { value: fallback } : { problem: message ?? `must be one of ${values.join(', ')}` };
    },
  };
}

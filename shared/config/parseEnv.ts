import * as z from 'zod';
import { ConfigError } from './ConfigError.js';

/** The environment shape functions read from (`process.env` in production, a table in tests). */
export type Env = Record<string, string | undefined>;

/**
 * Parses `env` with a zod object schema whose keys are variable names. Empty strings count
 * as unset, so `FOO=` in a shell behaves like no `FOO`. Fails fast with every problem listed.
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: Env): z.infer<S> {
  const cleaned: Env = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    cleaned[key] = value === undefined || value.trim() === '' ? undefined : value.trim();
  }
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => ({
    variable: issue.path.map(String).join('.') || '(root)',
    message: issue.message.startsWith('must') || issue.message.startsWith('is') ? issue.message : `is invalid: ${issue.message}`,
  }));
  throw new ConfigError(problems);
}

/** An integer variable within bounds, with a default. */
export function envInt(options: { min: number; max: number; default?: number }) {
  const base = z.coerce
    .number({ error: 'must be an integer' })
    .int({ error: 'must be an integer' })
    .min(options.min, { error: `must be at least ${options.min}` })
    .max(options.max, { error: `must be at most ${options.max}` });
  return options.default === undefined ? base : base.default(options.default);
}

/** A boolean variable: `true|false|1|0|yes|no`. */
export function envBool(defaultValue: boolean) {
  return z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
    .default(defaultValue ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
}

/** A required non-empty string. */
export function envString(description = 'must be set') {
  return z.string({ error: description }).min(1, { error: description });
}

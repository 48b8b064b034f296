import * as z from 'zod';
import type { JsonSchema } from './types.js';

/**
 * A zod schema as an OpenAPI 3.1 Schema Object (JSON Schema 2020-12, which is zod's own
 * target). `input` for what a caller sends (defaults are optional, a transform's input
 * type is shown), `output` for what the API answers (an object lists every field it may
 * have and nothing else: `additionalProperties: false`, so an undeclared field in an
 * answer fails validation). The per-schema `$schema` is dropped: the document's
 * `jsonSchemaDialect` default says it once.
 */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12' }) as JsonSchema;
  return rest;
}

/** The properties of an object schema (a query or path schema), with which are required. */
export function objectProperties(schema: z.ZodType): { properties: Record<string, JsonSchema>; required: Set<string> } {
  const json = jsonSchemaOf(schema, 'input');
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  return { properties, required: new Set((json.required ?? []) as string[]) };
}

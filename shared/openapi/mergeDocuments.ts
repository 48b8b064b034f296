import { API_VERSION } from './functionDocument.js';
import type { OpenApiDocument } from './types.js';

/**
 * The API's whole document from the functions' own: their paths, tags and security schemes
 * side by side (sorted, so the result does not depend on the order functions answer in).
 * A path served by two functions is an error — the gateway could route it to only one.
 */
export function mergeDocuments(parts: readonly OpenApiDocument[], servers: OpenApiDocument['servers']): OpenApiDocument {
  const merged: OpenApiDocument = {
    openapi: '3.1.0',
    info: {
      title: 'CloudAct API',
      version: API_VERSION,
      description:
        'The tenant API of CloudAct: every HTTP function’s routes. Generated from the route declarations and zod schemas (`npm run openapi`); each function serves its own part at `GET /openapi.json`.',
    },
    servers,
    tags: [],
    paths: {},
    components: { schemas: {}, headers: {}, responses: {}, securitySchemes: {} },
  };
  const sorted = [...parts].sort((a, b) => (a.tags[0]?.name ?? '').localeCompare(b.tags[0]?.name ?? ''));
  for (const part of sorted) {
    merged.tags.push(...part.tags);
    for (const [path, item] of Object.entries(part.paths)) {
      const existing = merged.paths[path];
      for (const method of Object.keys(item) as (keyof typeof item)[]) {
        if (existing?.[method] !== undefined) throw new Error(`${method.toUpperCase()} ${path} is served by two functions`);
      }
      merged.paths[path] = { ...existing, ...item };
    }
    Object.assign(merged.components.schemas, part.components.schemas);
    Object.assign(merged.components.headers, part.components.headers);
    Object.assign(merged.components.responses, part.components.responses);
    Object.assign(merged.components.securitySchemes, part.components.securitySchemes);
  }
  merged.paths = Object.fromEntries(Object.entries(merged.paths).sort(([a], [b]) => a.localeCompare(b)));
  return merged;
}

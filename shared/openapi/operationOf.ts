import type { z } from 'zod';
import { ERROR_STATUS } from '../errors/index.js';
import type { AnyRoute, ResponseSpec } from '../http/index.js';
import { errorCodesOf } from './errorResponses.js';
import { jsonSchemaOf, objectProperties } from './jsonSchema.js';
import type { OpenApiOperation, OpenApiParameter, OpenApiResponse } from './types.js';

/** `/v1/pricing/:provider/:model` → `/v1/pricing/{provider}/{model}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** `GET /v1/pricing/:provider/:model` → `getV1PricingByProviderByModel`: stable, unique per method and path. */
export function operationIdOf(route: AnyRoute): string {
  const words = route.path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => (s.startsWith(':') ? `By_${s.slice(1)}` : s))
    .flatMap((s) => s.split(/[^A-Za-z0-9]+/))
    .filter((w) => w !== '');
  return route.method.toLowerCase() + words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join('');
}

function parametersOf(route: AnyRoute): OpenApiParameter[] {
  const out: OpenApiParameter[] = [];
  // AnyRoute erased its schemas' types; each is a zod schema.
  const places: ['path' | 'query', z.ZodType | undefined][] = [
    ['path', route.params as z.ZodType | undefined],
    ['query', route.query as z.ZodType | undefined],
  ];
  for (const [place, schema] of places) {
    if (schema === undefined) continue;
    const { properties, required } = objectProperties(schema);
    for (const [name, property] of Object.entries(properties)) {
      const { description, ...rest } = property;
      out.push({
        name,
        in: place,
        required: place === 'path' || required.has(name),
        ...(typeof description === 'string' ? { description } : {}),
        schema: rest,
      });
    }
  }
  for (const [name, header] of Object.entries(route.requestHeaders ?? {})) {
    out.push({ name, in: 'header', required: false, description: header.description, schema: jsonSchemaOf(header.schema, 'input') });
  }
  return out;
}

function responseOf(spec: ResponseSpec): OpenApiResponse {
  const headers: NonNullable<OpenApiResponse['headers']> = { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } };
  for (const [name, header] of Object.entries(spec.headers ?? {})) {
    headers[name] = { description: header.description, required: header.required ?? false, schema: { type: 'string' } };
  }
  const response: OpenApiResponse = { description: spec.description, headers };
  if (spec.body !== undefined) response.content = { 'application/json': { schema: jsonSchemaOf(spec.body, 'output') } };
  else if (spec.media !== undefined) response.content = Object.fromEntries(spec.media.map((type) => [type, { schema: { type: 'string' } }]));
  return response;
}

/**
 * A route as an OpenAPI operation, everything read from the route itself: its parameters
 * from its path and query schemas, its body from its body schema, its answers from its
 * declared responses, its errors from its shape and its `errors`, its security from its
 * authenticator. `tag` is the function that serves it.
 */
export function operationOf(route: AnyRoute, tag: string): OpenApiOperation {
  const scheme = route.auth?.securityScheme;
  if (route.auth !== undefined && scheme === undefined) {
    throw new Error(`${route.method} ${route.path}: its authenticator names no securityScheme, so the document cannot say how to call it`);
  }
  const responses: OpenApiOperation['responses'] = {};
  for (const [status, spec] of Object.entries(route.responses as Record<string, ResponseSpec>)) responses[status] = responseOf(spec);
  for (const code of errorCodesOf(route)) responses[String(ERROR_STATUS[code])] ??= { $ref: `#/components/responses/${code}` };
  const operation: OpenApiOperation = {
    operationId: operationIdOf(route),
    summary: route.summary,
    ...(route.description === undefined ? {} : { description: route.description }),
    tags: [tag],
    security: scheme === undefined ? [] : [{ [scheme.name]: [] }],
    responses,
  };
  const parameters = parametersOf(route);
  if (parameters.length > 0) operation.parameters = parameters;
  const body = route.body as z.ZodType | undefined;
  if (body !== undefined) {
    operation.requestBody = {
      // A body schema that accepts nothing at all (`{date?}.optional()`) makes the body optional.
      required: !body.safeParse(undefined).success,
      content: { 'application/json': { schema: jsonSchemaOf(body, 'input') } },
    };
  }
  return operation;
}

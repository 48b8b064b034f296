import type { AnyRoute, SecurityScheme } from '../http/index.js';
import { errorCodesOf, errorEnvelopeJsonSchema, errorResponses, SHARED_HEADERS } from './errorResponses.js';
import { openApiPath, operationOf } from './operationOf.js';
import type { OpenApiDocument, OpenApiResponse, OpenApiSecurityScheme } from './types.js';

/** The API's version, as the paths carry it (`/v1/…`). */
export const API_VERSION = 'v1';

/** What the document of one function says about itself. */
export interface FunctionDocumentOptions {
  /** The function (its tag). */
  name: string;
  routes: readonly AnyRoute[];
  /** Where the function is reached. @default its own root, `/` */
  servers?: OpenApiDocument['servers'];
}

function securitySchemeOf(scheme: SecurityScheme): OpenApiSecurityScheme {
  return { type: 'http', scheme: 'bearer', ...(scheme.bearerFormat === undefined ? {} : { bearerFormat: scheme.bearerFormat }), description: scheme.description };
}

/**
 * The OpenAPI 3.1 document of one HTTP function: every route it serves (not `/healthz` or
 * `/openapi.json`, which every function answers the same way), with the error envelope,
 * the shared headers and the security schemes its routes use. Built from the routes alone.
 */
export function functionDocument({ name, routes, servers = [{ url: '/', description: `The ${name} function’s own URL` }] }: FunctionDocumentOptions): OpenApiDocument {
  const document: OpenApiDocument = {
    openapi: '3.1.0',
    info: {
      title: `CloudAct API — ${name}`,
      version: API_VERSION,
      description: `The routes served by the \`${name}\` function. Generated from its route declarations and zod schemas.`,
    },
    servers,
    tags: [{ name, description: `Served by the \`${name}\` function.` }],
    paths: {},
    components: {
      schemas: { ErrorEnvelope: errorEnvelopeJsonSchema() },
      headers: { ...SHARED_HEADERS },
      responses: {},
      securitySchemes: {},
    },
  };
  const errors = errorResponses();
  for (const route of routes) {
    const path = openApiPath(route.path);
    const item = (document.paths[path] ??= {});
    const method = route.method.toLowerCase() as Lowercase<typeof route.method>;
    if (item[method] !== undefined) throw new Error(`${route.method} ${route.path} is declared twice`);
    item[method] = operationOf(route, name);
    const scheme = route.auth?.securityScheme;
    if (scheme !== undefined) document.components.securitySchemes[scheme.name] = securitySchemeOf(scheme);
    // Only the errors some route answers with: a component nothing uses is noise to a reader.
    for (const code of errorCodesOf(route)) document.components.responses[code] = errors[code] as OpenApiResponse;
  }
  return document;
}

/** The API describes itself: OpenAPI 3.1 documents built from the routes' own declarations and zod schemas. */
export { API_VERSION, functionDocument, type FunctionDocumentOptions } from './functionDocument.js';
export { mergeDocuments } from './mergeDocuments.js';
export { jsonSchemaOf } from './jsonSchema.js';
export { openApiPath } from './operationOf.js';
export type { JsonSchema, OpenApiDocument, OpenApiOperation, OpenApiPathItem, OpenApiResponse } from './types.js';

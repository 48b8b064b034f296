import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mergeDocuments, type OpenApiDocument } from '../shared/openapi/index.js';
import { loadHttpFunctions } from './httpFunctions.js';
import { isMain } from './isMain.js';
import { REPO_ROOT } from './paths.js';

/** The committed file this generator owns. */
export const OPENAPI_PATH = path.join(REPO_ROOT, 'openapi.json');

/** Where the merged document is reached: the local stack's gateway (`npm start`), which serves it at `/v1/openapi.json`. */
export const LOCAL_SERVERS: OpenApiDocument['servers'] = [{ url: 'http://127.0.0.1:8080', description: 'The local stack’s gateway (`npm start`)' }];

/** The API's document: every HTTP function's own, merged. */
export async function apiDocument(): Promise<OpenApiDocument> {
  const functions = await loadHttpFunctions();
  return mergeDocuments(
    functions.map((fn) => fn.document()),
    LOCAL_SERVERS,
  );
}

/** The document as the committed file holds it. */
export function renderOpenApi(document: OpenApiDocument): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

// `npm run openapi` writes openapi.json; `-- --check` exits 1 when the committed file differs.
if (isMain(import.meta.url)) {
  const text = renderOpenApi(await apiDocument());
  if (process.argv.includes('--check')) {
    const same = readFileSync(OPENAPI_PATH, 'utf8') === text;
    process.stdout.write(same ? 'openapi.json is up to date\n' : 'openapi.json differs from the routes: run `npm run openapi`\n');
    process.exit(same ? 0 : 1);
  }
  writeFileSync(OPENAPI_PATH, text);
  process.stdout.write(`Wrote ${path.relative(process.cwd(), OPENAPI_PATH)}\n`);
  // Loading the functions installed their shutdown handlers and lazy clients; nothing is left to do.
  process.exit(0);
}

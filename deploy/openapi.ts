import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mergeDocuments, type OpenApiDocument } from '../shared/openapi/index.js';
import { ASYNCAPI_PATH, messagesDocument } from './asyncapi.js';
import { loadHttpFunctions } from './loadFunctions.js';
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

/** A document as the committed file holds it. */
export function renderOpenApi(document: OpenApiDocument | Record<string, unknown>): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

// `npm run openapi` writes openapi.json and asyncapi.json; `-- --check` exits 1 when a committed file differs.
if (isMain(import.meta.url)) {
  const files = [
    { file: OPENAPI_PATH, text: renderOpenApi(await apiDocument()) },
    { file: ASYNCAPI_PATH, text: renderOpenApi(await messagesDocument()) },
  ];
  if (process.argv.includes('--check')) {
    const stale = files.filter(({ file, text }) => readFileSync(file, 'utf8') !== text).map(({ file }) => path.basename(file));
    process.stdout.write(stale.length === 0 ? 'openapi.json and asyncapi.json are up to date\n' : `${stale.join(', ')} differ from the code: run \`npm run openapi\`\n`);
    process.exit(stale.length === 0 ? 0 : 1);
  }
  for (const { file, text } of files) {
    writeFileSync(file, text);
    process.stdout.write(`Wrote ${path.relative(process.cwd(), file)}\n`);
  }
  // Loading the functions installed their shutdown handlers and lazy clients; nothing is left to do.
  process.exit(0);
}

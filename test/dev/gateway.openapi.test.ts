/**
 * The local gateway serves the whole API's document at `GET /v1/openapi.json`: every HTTP
 * function's own `/openapi.json`, merged. Compared here with the functions' routers — every
 * route of every function of the manifest, each reachable through the gateway's prefixes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_DOCUMENT_PATH, startGateway, type Gateway } from '../../dev/gateway.js';
import { ROUTE_PREFIXES } from '../../dev/stack.js';
import { loadHttpFunctions } from '../../deploy/loadFunctions.js';
import type { DefinedHttpFunction } from '../../shared/function/index.js';
import { openApiPath, type OpenApiDocument } from '../../shared/openapi/index.js';
import { documentedFetch } from '../helpers/apiContract.js';
import { closeFunctionRuntime, closeTestDb, serveFunction, type ServedFunction } from '../helpers/tenants.js';

let functions: DefinedHttpFunction[];
const served: ServedFunction[] = [];
let gateway: Gateway;

beforeAll(async () => {
  functions = await loadHttpFunctions();
  const routes = [];
  for (const fn of functions) {
    const server = await serveFunction(fn.target);
    served.push(server);
    for (const prefix of ROUTE_PREFIXES[fn.target] ?? []) routes.push({ prefix, target: server.url });
  }
  gateway = await startGateway({ port: 0, routes, healthTargets: {} });
});

afterAll(async () => {
  await gateway?.close();
  for (const server of served) await server.close();
  await closeFunctionRuntime();
  await closeTestDb();
});

describe(`GET ${API_DOCUMENT_PATH} on the gateway`, () => {
  it('lists every route of every HTTP function’s router, and nothing else', async () => {
    const res = await fetch(`${gateway.url}${API_DOCUMENT_PATH}`);
    const document = (await res.json()) as OpenApiDocument;

    const documented = Object.entries(document.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`));
    const routed = functions.flatMap((fn) => fn.routes.map((r) => `${r.method} ${openApiPath(r.path)}`));
    expect(res.status).toBe(200);
    expect(documented.sort()).toEqual(routed.sort());
    expect(document.tags.map((t) => t.name).sort()).toEqual(functions.map((fn) => fn.target).sort());
    expect(document.servers).toEqual([{ url: gateway.url, description: 'This gateway' }]);
  });

  it('routes every documented path to the function that serves it (each route under one of its function’s prefixes)', () => {
    const unreachable = functions.flatMap((fn) =>
      fn.routes.filter((r) => !(ROUTE_PREFIXES[fn.target] ?? []).some((prefix) => r.path === prefix || r.path.startsWith(`${prefix}/`))).map((r) => `${fn.target}: ${r.method} ${r.path}`),
    );

    expect(unreachable).toEqual([]);
  });

  it('is the document the response check uses for answers that come through the gateway', async () => {
    const res = await documentedFetch(`${gateway.url}/v1/quota`);

    expect(res.status).toBe(401);
  });
});

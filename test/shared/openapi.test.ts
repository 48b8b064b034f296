/**
 * `shared/openapi` and the response check: a function serves its own document at
 * `GET /openapi.json` without auth or any backend, and an answer its document does not
 * describe — here a planted route that answers a field its schema does not declare — fails
 * the check every test client runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { authenticateTenant } from '../../shared/auth/index.js';
import { clientStats } from '../../shared/clients/index.js';
import { defineHttpFunction } from '../../shared/function/index.js';
import { route } from '../../shared/http/index.js';
import type { OpenApiDocument } from '../../shared/openapi/index.js';
import { contractAt, documentedFetch } from '../helpers/apiContract.js';
import { call, closeFunctionRuntime, closeTestDb, createTenant, serveFunction, type ServedFunction, type TestTenant } from '../helpers/tenants.js';

const widget = z.object({ id: z.string(), name: z.string() });

/** What the planted route's store returns: more than the route declares (a structural subtype, so it compiles). */
const stored = { id: 'w1', name: 'first', internal_note: 'never meant for callers' };

defineHttpFunction('planted-openapi', {
  routes: [
    route({
      method: 'GET',
      path: '/v1/widgets/:id',
      summary: 'Read a widget',
      params: z.object({ id: z.string() }),
      auth: authenticateTenant,
      responses: { 200: { description: 'The widget', body: widget } },
      errors: ['NOT_FOUND'],
      handler: async ({ params }) => ({ body: params.id === 'w1' ? stored : { id: params.id, name: 'declared fields only' } }),
    }),
  ],
});

let fn: ServedFunction;
let tenant: TestTenant;

beforeAll(async () => {
  fn = await serveFunction('planted-openapi');
  tenant = await createTenant({ slugPrefix: 'openapi' });
});

afterAll(async () => {
  await fn?.close();
  await closeFunctionRuntime();
  await closeTestDb();
});

describe('GET /openapi.json', () => {
  it('answers the function’s own document without credentials and without creating any backend client', async () => {
    const before = clientStats().reduce((n, c) => n + c.creations, 0);

    const res = await fetch(`${fn.url}/openapi.json`);
    const document = (await res.json()) as OpenApiDocument;

    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).not.toBeNull();
    expect(Object.keys(document.paths)).toEqual(['/v1/widgets/{id}']);
    expect(document.paths['/v1/widgets/{id}']?.get?.security).toEqual([{ tenantKey: [] }]);
    expect(Object.keys(document.paths['/v1/widgets/{id}']?.get?.responses ?? {})).toEqual(['200', '400', '401', '404', '413', '415', '500', '503', '504']);
    expect(clientStats().reduce((n, c) => n + c.creations, 0)).toBe(before);
  });

  it('answers any other method with 405 and Allow: GET', async () => {
    const res = await fetch(`${fn.url}/openapi.json`, { method: 'POST' });

    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
  });
});

describe('the response check', () => {
  it('passes an answer the document describes', async () => {
    const res = await call(fn.url, tenant.apiKey, 'GET', '/v1/widgets/w2');

    expect(res.status).toBe(200);
  });

  it('fails a planted route that answers a field its schema does not declare, naming the field', async () => {
    await expect(call(fn.url, tenant.apiKey, 'GET', '/v1/widgets/w1')).rejects.toThrow(/internal_note|additional/);

    const res = await fetch(`${fn.url}/v1/widgets/w1`, { headers: { authorization: `Bearer ${tenant.apiKey}` } });
    const problems = (await contractAt(fn.url)).problemsWith({ method: 'GET', url: `${fn.url}/v1/widgets/w1`, status: res.status, headers: res.headers, text: await res.text() });
    expect(problems).toEqual([expect.stringContaining('must NOT have additional properties {"additionalProperty":"internal_note"}')]);
  });

  it('fails an error status the operation does not declare, and a missing X-Request-Id', async () => {
    const contract = await contractAt(fn.url);
    const envelope = JSON.stringify({ error: { code: 'ALREADY_EXISTS', message: 'x', details: [], request_id: 'r' } });

    const problems = contract.problemsWith({ method: 'GET', url: '/v1/widgets/w1', status: 409, headers: { 'content-type': 'application/json' }, text: envelope });

    expect(problems).toEqual([expect.stringContaining('no X-Request-Id'), expect.stringContaining('status 409 is not among the documented responses')]);
  });

  it('checks the router’s own answers too: an unknown path is a 404 envelope, another method a 405 with Allow', async () => {
    const unknown = await documentedFetch(`${fn.url}/v1/nothing-here`);
    const otherMethod = await documentedFetch(`${fn.url}/v1/widgets/w1`, { method: 'DELETE' });

    expect(unknown.status).toBe(404);
    expect(otherMethod.status).toBe(405);
  });
});

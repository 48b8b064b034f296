import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, lintFromString } from '@redocly/openapi-core';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHttpFunctions } from '../../deploy/loadFunctions.js';
import { manifest } from '../../deploy/manifest.js';
import { ASYNCAPI_PATH, messagesDocument } from '../../deploy/asyncapi.js';
import { apiDocument, LOCAL_SERVERS, OPENAPI_PATH, renderOpenApi } from '../../deploy/openapi.js';
import { REPO_ROOT } from '../../deploy/paths.js';
import type { DefinedHttpFunction } from '../../shared/function/index.js';
import type { AnyRoute } from '../../shared/http/index.js';
import { functionDocument, mergeDocuments, type OpenApiDocument } from '../../shared/openapi/index.js';
import { closeFunctionRuntime } from '../helpers/tenants.js';

/** Every problem the maintained validator (Redocly's, with `redocly.yaml`'s rules) finds in a document. */
async function lint(document: unknown): Promise<string[]> {
  const config = await loadConfig({ configPath: path.join(REPO_ROOT, 'redocly.yaml') });
  const problems = await lintFromString({ source: JSON.stringify(document), absoluteRef: path.join(REPO_ROOT, 'openapi.json'), config });
  return problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? '?'}`);
}

/** The API's document with one route of one function replaced. */
function documentWith(functions: DefinedHttpFunction[], target: string, change: (route: AnyRoute) => AnyRoute): OpenApiDocument {
  return mergeDocuments(
    functions.map((fn) => (fn.target === target ? functionDocument({ name: fn.target, routes: fn.routes.map(change) }) : fn.document())),
    LOCAL_SERVERS,
  );
}

let functions: DefinedHttpFunction[];
let committed: string;

beforeAll(async () => {
  functions = await loadHttpFunctions();
  committed = readFileSync(OPENAPI_PATH, 'utf8');
});

afterAll(async () => {
  await closeFunctionRuntime();
});

describe('openapi.json', () => {
  it('equals what the routes of every HTTP function in the manifest generate (regenerate with `npm run openapi`)', async () => {
    expect(committed).toBe(renderOpenApi(await apiDocument()));
  });

  it('is found different when a route’s schema changes (a planted field in the pricing PUT body)', () => {
    const planted = documentWith(functions, 'pricing', (route) =>
      route.method === 'PUT' ? { ...route, body: (route.body as z.ZodObject).extend({ note: z.string().describe('planted') }) } : route,
    );

    const rendered = renderOpenApi(planted);

    expect(rendered).not.toBe(committed);
    const put = planted.paths['/v1/pricing/{provider}/{model}']?.put;
    expect(JSON.stringify(put?.requestBody)).toContain('"note"');
  });

  it('describes every route of every HTTP function of the manifest, once', () => {
    const document = JSON.parse(committed) as OpenApiDocument;
    const documented = Object.entries(document.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`));
    const routed = functions.flatMap((fn) => fn.routes.map((r) => `${r.method} ${r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`));

    expect(functions.map((fn) => fn.target)).toEqual(manifest.functions.filter((f) => f.trigger.type === 'http').map((f) => f.entryPoint));
    expect(documented.sort()).toEqual(routed.sort());
    expect(new Set(documented).size).toBe(documented.length);
  });
});

describe('asyncapi.json', () => {
  it('equals what the event functions’ own schemas and the spec’s messages generate (regenerate with `npm run openapi`)', async () => {
    expect(readFileSync(ASYNCAPI_PATH, 'utf8')).toBe(renderOpenApi(await messagesDocument()));
  });

  it('describes each topic an event function of the manifest consumes, and the signed alert webhook', async () => {
    const document = (await messagesDocument()) as { channels: Record<string, { messages: Record<string, { headers?: { properties?: object } }> }> };
    const consumed = manifest.functions.flatMap((f) => (f.trigger.type === 'topic' ? [f.trigger.topic] : []));

    expect(consumed).toContain('usage-updated');
    expect(Object.keys(document.channels).sort()).toEqual([...new Set([...consumed, 'alertWebhook'])].sort());
    expect(Object.keys(document.channels.alertWebhook?.messages.budgetAlert?.headers?.properties ?? {})).toEqual(['CloudAct-Signature']);
  });
});

describe('the OpenAPI validator (@redocly/openapi-core, redocly.yaml)', () => {
  it('finds no problem, error or warning, in the generated document', async () => {
    expect(await lint(JSON.parse(committed))).toEqual([]);
  });

  it('fails a planted broken document: a parameter in a place OpenAPI has no such place, and a reference to nothing', async () => {
    const broken = JSON.parse(committed) as { paths: Record<string, Record<string, Record<string, unknown>>> };
    const quota = broken.paths['/v1/quota']?.get as Record<string, unknown>;
    quota.parameters = [{ name: 'since', in: 'body', schema: { type: 'string' } }];
    quota.requestBody = { $ref: '#/components/requestBodies/Nothing' };

    const problems = await lint(broken);

    expect(problems.filter((p) => p.startsWith('error '))).toEqual(
      expect.arrayContaining([expect.stringMatching(/^error struct: .*in/), expect.stringMatching(/^error no-unresolved-refs/)]),
    );
  });
});

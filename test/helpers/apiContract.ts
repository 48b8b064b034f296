import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { OpenApiDocument, OpenApiOperation, OpenApiResponse } from '../../shared/openapi/index.js';

/**
 * The response check every test client runs: an answer a function gave must be one its
 * OpenAPI document describes — the status among the operation's responses, every required
 * header present and valid, the body of a declared media type and, for JSON, valid against
 * the declared schema (objects allow no undeclared field). The document is the committed
 * `openapi.json` (the drift test keeps it equal to the code) unless a test passes its own.
 */

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** An answer as a test client received it. */
export interface ReceivedAnswer {
  method: string;
  /** The URL called (only its path is used). */
  url: string;
  status: number;
  /** Header names in any case. */
  headers: Headers | Record<string, string | string[] | undefined>;
  /** The raw body text. */
  text: string;
}

/** A document ready to check answers against (its schemas compiled on first use). */
export interface Contract {
  document: OpenApiDocument;
  /** What is wrong with an answer; empty when the document describes it. */
  problemsWith(answer: ReceivedAnswer): string[];
}

const PATHS_SERVED_BY_EVERY_FUNCTION = new Set(['/healthz', '/openapi.json']);

/** Builds the check for a document. */
export function contractOf(document: OpenApiDocument): Contract {
  // strict: false — the document is added whole so `#/components/…` references resolve;
  // its OpenAPI keywords (paths, info …) are not JSON Schema keywords.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(document, 'openapi.json');
  const compiled = new Map<string, ValidateFunction>();
  const validatorAt = (pointer: string): ValidateFunction => {
    let validate = compiled.get(pointer);
    if (validate === undefined) {
      validate = ajv.compile({ $ref: `openapi.json#${pointer}` });
      compiled.set(pointer, validate);
    }
    return validate;
  };
  const templates = Object.keys(document.paths).map((template) => ({ template, segments: template.split('/').filter((s) => s !== '') }));

  function problemsWith(answer: ReceivedAnswer): string[] {
    const pathname = new URL(answer.url, 'http://x').pathname;
    if (PATHS_SERVED_BY_EVERY_FUNCTION.has(pathname.replace(/\/$/, ''))) return [];
    const label = `${answer.method} ${pathname} → ${answer.status}`;
    const headers = headerMap(answer.headers);
    const problems: string[] = [];
    if ((headers.get('x-request-id') ?? '') === '') problems.push(`${label}: no X-Request-Id header`);

    const parts = pathname.split('/').filter((s) => s !== '');
    const matching = templates
      .filter(({ segments }) => segments.length === parts.length && segments.every((s, i) => s.startsWith('{') || s === parts[i]))
      // Literal segments win over parameters (`/subscriptions/bulk` over `/subscriptions/{id}`).
      .sort((a, b) => literalCount(b.segments) - literalCount(a.segments));
    const method = answer.method.toLowerCase() as keyof OpenApiDocument['paths'][string];
    const found = matching.find(({ template }) => document.paths[template]?.[method] !== undefined);

    if (found === undefined) {
      // No operation: the router's own answers, which carry the envelope with their code.
      const expected = matching.length > 0 ? { status: 405, code: 'METHOD_NOT_ALLOWED' } : { status: 404, code: 'NOT_FOUND' };
      const gateAnswers = [400, 413, 415, 503];
      if (answer.status !== expected.status && !gateAnswers.includes(answer.status)) {
        problems.push(`${label}: no operation for ${answer.method} ${pathname}; expected ${expected.status} ${expected.code}`);
        return problems;
      }
      if (answer.status === 405 && (headers.get('allow') ?? '') === '') problems.push(`${label}: a 405 without Allow`);
      problems.push(...bodyProblems(label, answer.text, validatorAt('/components/schemas/ErrorEnvelope')));
      return problems;
    }

    const operation = document.paths[found.template]?.[method] as OpenApiOperation;
    const pointerOfOperation = `/paths/${escapePointer(found.template)}/${method}`;
    let response = operation.responses[String(answer.status)];
    let pointer = `${pointerOfOperation}/responses/${answer.status}`;
    if (response === undefined) {
      problems.push(`${label}: status ${answer.status} is not among the documented responses (${Object.keys(operation.responses).join(', ')})`);
      return problems;
    }
    if ('$ref' in response) {
      pointer = response.$ref.slice(1);
      response = resolve<OpenApiResponse>(document, response.$ref);
    }
    for (const [name, declared] of Object.entries(response.headers ?? {})) {
      const header = '$ref' in declared ? resolve<{ required?: boolean }>(document, declared.$ref) : declared;
      if (header.required === true && headers.get(name.toLowerCase()) === undefined) problems.push(`${label}: the required header ${name} is missing`);
    }
    const content = response.content;
    const type = (headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
    if (content === undefined) {
      if (answer.text !== '') problems.push(`${label}: a body where the document declares none: ${answer.text.slice(0, 200)}`);
      return problems;
    }
    if (content[type] === undefined) {
      problems.push(`${label}: content type "${type}" is not one of ${Object.keys(content).join(', ')}`);
      return problems;
    }
    if (type === 'application/json') problems.push(...bodyProblems(label, answer.text, validatorAt(`${pointer}/content/application~1json/schema`)));
    return problems;
  }

  return { document, problemsWith };
}

function bodyProblems(label: string, text: string, validate: ValidateFunction): string[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [`${label}: the body is not JSON: ${text.slice(0, 200)}`];
  }
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `${label}: body${e.instancePath} ${e.message ?? 'is invalid'}${e.params !== undefined ? ` ${JSON.stringify(e.params)}` : ''}`);
}

function headerMap(headers: ReceivedAnswer['headers']): Map<string, string> {
  const map = new Map<string, string>();
  if (headers instanceof Headers) headers.forEach((value, name) => map.set(name.toLowerCase(), value));
  else for (const [name, value] of Object.entries(headers)) if (value !== undefined) map.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : value);
  return map;
}

function literalCount(segments: string[]): number {
  return segments.filter((s) => !s.startsWith('{')).length;
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function resolve<T>(document: OpenApiDocument, ref: string): T {
  let node: unknown = document;
  for (const part of ref.replace(/^#\//, '').split('/')) node = (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  return node as T;
}

let committed: Contract | undefined;

/** The contract of the committed `openapi.json`. */
export function apiContract(): Contract {
  committed ??= contractOf(JSON.parse(readFileSync(path.join(REPO_ROOT, 'openapi.json'), 'utf8')) as OpenApiDocument);
  return committed;
}

const served = new Map<string, Promise<Contract>>();

/**
 * The contract of what answers at `origin`: the document the function serves itself at
 * `GET /openapi.json` (the drift test keeps every real function's part equal to
 * `openapi.json`; a test's own function is checked against its own routes too), or the
 * merged one a gateway serves at `/v1/openapi.json`. Read once per origin.
 */
export function contractAt(origin: string): Promise<Contract> {
  let contract = served.get(origin);
  if (contract === undefined) {
    contract = (async () => {
      for (const documentPath of ['/openapi.json', '/v1/openapi.json']) {
        const response = await fetch(`${origin}${documentPath}`);
        if (response.status === 200) return contractOf((await response.json()) as OpenApiDocument);
        await response.body?.cancel();
      }
      throw new Error(`${origin} serves no OpenAPI document to check its answers against`);
    })();
    contract.catch(() => served.delete(origin));
    served.set(origin, contract);
  }
  return contract;
}

/** The response check: throws, naming every problem, when the document does not describe the answer. */
export function expectDocumented(answer: ReceivedAnswer, contract: Contract = apiContract()): void {
  const problems = contract.problemsWith(answer);
  if (problems.length > 0) throw new Error(`The answer is not what openapi.json says:\n  ${problems.join('\n  ')}`);
}

/**
 * `fetch`, with the response check: the answer is read, checked against the document the
 * called function serves ({@link contractAt}), and
 * handed back as a fresh `Response` of the same status, headers and body. Every direct
 * `fetch` of a function's route in the tests goes through it.
 */
export async function documentedFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(url, init);
  const text = await response.text();
  expectDocumented({ method: init.method ?? 'GET', url, status: response.status, headers: response.headers, text }, await contractAt(new URL(url).origin));
  return new Response(text === '' ? null : text, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/**
 * Whether a {@link documentedFetch} failed for want of an answer (refused, reset, timed
 * out) rather than for an answer the document does not describe — tests that count
 * connection failures catch these and must let the check's failures through.
 */
export function isNetworkError(error: unknown): boolean {
  return error instanceof TypeError || (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'));
}

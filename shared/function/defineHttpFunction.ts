import { http } from '@google-cloud/functions-framework';
import type { AuditHook } from '../audit/index.js';
import { flushLastUsedIfDue } from '../auth/index.js';
import { runtimeConfig } from '../config/index.js';
import { createHttpHandler, type AnyRoute, type HttpHandler } from '../http/index.js';
import { functionDocument, type OpenApiDocument } from '../openapi/index.js';

/** What an HTTP function declares: its routes, and whether its mutating calls are audited. */
export interface HttpFunctionDefinition {
  /** The routes, built with `route()` from `shared/http`. `GET /healthz` is added for you. */
  routes: AnyRoute[];
  /**
   * Audits every mutating call (POST/PUT/PATCH/DELETE): pass `createAuditHook()` from
   * `shared/audit` (one `cloudact_meta.org_audit_logs` row per call). Absent: no audit
   * rows. A hook rather than a flag on purpose: only a function that audits imports
   * `shared/audit`, and with it the BigQuery client, so `quota` and `costs` start without it.
   */
  audit?: AuditHook;
}

/** A declared HTTP function, as the API document generator and the tests find it. */
export interface DefinedHttpFunction {
  target: string;
  routes: readonly AnyRoute[];
  /** Its OpenAPI document, the one it serves at `GET /openapi.json`. */
  document(): OpenApiDocument;
}

/** Every HTTP function declared in this process, by target. */
const defined = new Map<string, DefinedHttpFunction>();

/**
 * The HTTP functions declared in this process (one in production; every function whose
 * module was imported in `npm run openapi` and in tests), by target.
 */
export function definedHttpFunctions(): ReadonlyMap<string, DefinedHttpFunction> {
  return defined;
}

/**
 * Declares an HTTP function — the one way a `functions/<name>/index.ts` registers itself.
 *
 * ```ts
 * defineHttpFunction('pipelines', { routes: pipelineRoutes(), audit: createAuditHook() });
 * ```
 *
 * Wires, so no function has to remember any of it:
 * - the registration with functions-framework (`http(target, …)`), under `target` — the
 *   `--target` / entry point the manifest deploys;
 * - the wrapper of `shared/http` (routing, deadline, input parsing, envelope, access log,
 *   `/healthz`), with the function's name for logs and `application_name` read from the
 *   runtime config (`FUNCTION_NAME`, `K_SERVICE`);
 * - the invocation-end hooks, awaited inside every invocation before the answer is written:
 *   the audit row when `audit` is set, then the `last_used_at` flush of API keys that is
 *   due (without it, a function that authenticates tenants would write `last_used_at` only
 *   at shutdown);
 * - graceful shutdown (SIGTERM drain, flush, close; `shared/lifecycle`);
 * - its API document, built from `routes` and served at `GET /openapi.json`.
 *
 * Call it once, at module load. Returns the request handler (tests may call it directly).
 */
export function defineHttpFunction(target: string, { routes, audit }: HttpFunctionDefinition): HttpHandler {
  let built: OpenApiDocument | undefined;
  const document = (): OpenApiDocument => (built ??= functionDocument({ name: target, routes }));
  const handler = createHttpHandler({
    name: runtimeConfig().functionName,
    routes,
    finalize: flushLastUsedIfDue,
    audit,
    document,
  });
  http(target, handler);
  defined.set(target, { target, routes, document });
  return handler;
}

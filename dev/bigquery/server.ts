/**
 * HTTP layer: a `node:http` server that routes BigQuery REST v2 paths to the
 * job manager, catalog and tabledata handlers and renders every failure in
 * BigQuery's JSON error shape.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Catalog } from './catalog.js';
import { asApiError, BigQueryApiError, errorResponseBody, invalid, toErrorProto } from './errors.js';
import type { JobManager } from './jobs.js';
import type { TableData } from './tabledata.js';
import type { MediaUploads } from './upload.js';

/** Largest accepted request body (BigQuery's insertAll HTTP limit is 10 MB). */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

type Handler = (ctx: RequestContext) => unknown;

/** What a route handler sees. */
export interface RequestContext {
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
}

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
  /** 204 with an empty body (DELETE). */
  empty?: boolean;
}

/** Request counters. */
export interface ServerCounters {
  requests: number;
  errors: number;
}

function route(method: string, path: string, handler: Handler, empty = false): Route {
  const keys: string[] = [];
  const pattern = new RegExp(
    `^/bigquery/v2${path.replace(/\{(\w+)\}/g, (_m, k: string) => {
      keys.push(k);
      return '([^/]+)';
    })}/?$`,
  );
  return { method, pattern, keys, handler, empty };
}

/** Builds the routing table. */
export function buildRoutes(catalog: Catalog, jobs: JobManager, tabledata: TableData): Route[] {
  const P = '/projects/{projectId}';
  const D = `${P}/datasets/{datasetId}`;
  const T = `${D}/tables/{tableId}`;
  const num = (v: string | null): number | undefined => (v === null ? undefined : Number(v));
  return [
    route('POST', `${P}/queries`, (c) => jobs.query(c.params.projectId as string, c.body)),
    route('GET', `${P}/queries/{jobId}`, (c) => jobs.getQueryResults(c.params.projectId as string, c.params.jobId as string, c.query)),
    route('POST', `${P}/jobs`, (c) => jobs.insert(c.params.projectId as string, c.body)),
    route('GET', `${P}/jobs`, (c) => jobs.list(c.params.projectId as string, c.query)),
    route('GET', `${P}/jobs/{jobId}`, (c) => jobs.get(c.params.projectId as string, c.params.jobId as string)),
    route('POST', `${P}/jobs/{jobId}/cancel`, (c) => jobs.cancel(c.params.projectId as string, c.params.jobId as string)),
    route('DELETE', `${P}/jobs/{jobId}/delete`, (c) => jobs.delete(c.params.projectId as string, c.params.jobId as string), true),

    route('GET', `${P}/datasets`, (c) =>
      catalog.listDatasets(c.params.projectId as string, {
        maxResults: num(c.query.get('maxResults')),
        pageToken: c.query.get('pageToken') ?? undefined,
        filter: c.query.get('filter') ?? undefined,
      }),
    ),
    route('POST', `${P}/datasets`, (c) => catalog.createDataset(c.params.projectId as string, c.body)),
    route('GET', D, (c) => catalog.getDataset(c.params.projectId as string, c.params.datasetId as string)),
    route('PATCH', D, (c) => catalog.patchDataset(c.params.projectId as string, c.params.datasetId as string, c.body, false)),
    route('PUT', D, (c) => catalog.patchDataset(c.params.projectId as string, c.params.datasetId as string, c.body, true)),
    route('DELETE', D, (c) => catalog.deleteDataset(c.params.projectId as string, c.params.datasetId as string, c.query.get('deleteContents') === 'true'), true),

    route('GET', `${D}/tables`, (c) =>
      catalog.listTables(c.params.projectId as string, c.params.datasetId as string, {
        maxResults: num(c.query.get('maxResults')),
        pageToken: c.query.get('pageToken') ?? undefined,
      }),
    ),
    route('POST', `${D}/tables`, (c) => catalog.createTable(c.params.projectId as string, c.params.datasetId as string, c.body)),
    route('GET', T, (c) => catalog.getTable(c.params.projectId as string, c.params.datasetId as string, tableName(c))),
    route('PATCH', T, (c) => catalog.patchTable(c.params.projectId as string, c.params.datasetId as string, tableName(c), c.body, false)),
    route('PUT', T, (c) => catalog.patchTable(c.params.projectId as string, c.params.datasetId as string, tableName(c), c.body, true)),
    route('DELETE', T, (c) => catalog.deleteTable(c.params.projectId as string, c.params.datasetId as string, tableName(c)), true),
    route('POST', `${T}/insertAll`, (c) => tabledata.insertAll(c.params.projectId as string, c.params.datasetId as string, tableName(c), c.body)),
    route('GET', `${T}/data`, (c) => tabledata.list(c.params.projectId as string, c.params.datasetId as string, tableName(c), c.query)),
  ];
}

/** Partition decorators (`t$20240101`) address partitions, which the endpoint does not model. */
function tableName(c: RequestContext): string {
  const t = c.params.tableId as string;
  if (t.includes('$')) throw invalid(`Unsupported by the local BigQuery endpoint: partition decorator in table name ${t}`, 'tableId');
  return t;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new BigQueryApiError(413, 'invalid', `Request payload size exceeds the limit: ${MAX_BODY_BYTES} bytes.`);
    chunks.push(buf);
  }
  if (size === 0) return {};
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw invalid('Invalid JSON payload received.');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (body === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Creates the HTTP server (not yet listening); `uploads` answers the media-upload paths of load jobs. */
export function createBigQueryServer(routes: Route[], counters: ServerCounters, uploads: MediaUploads): Server {
  const server = createServer((req, res) => {
    counters.requests++;
    void handle(req, res).catch((err: unknown) => {
      counters.errors++;
      const e = asApiError(err);
      if (!res.headersSent) send(res, e.httpStatus, errorResponseBody(e.httpStatus, [toErrorProto(e)]));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    if (url.pathname === '/healthz' || url.pathname === '/') {
      send(res, 200, { status: 'ok', service: 'local-bigquery' });
      return;
    }
    if (url.pathname.startsWith('/upload/')) {
      await uploads.handle(req, res, url);
      return;
    }
    let matchedPath = false;
    for (const r of routes) {
      const m = r.pattern.exec(url.pathname);
      if (!m) continue;
      matchedPath = true;
      if (r.method !== method) continue;
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1] as string)));
      // Always drain the body so keep-alive connections stay usable.
      const raw = await readBody(req);
      const body = method === 'GET' || method === 'DELETE' ? {} : raw;
      const result = await r.handler({ params, query: url.searchParams, body });
      if (r.empty) send(res, 204, undefined);
      else send(res, 200, result);
      return;
    }
    if (matchedPath) throw new BigQueryApiError(405, 'invalid', `Method ${method} is not allowed for ${url.pathname}`);
    throw new BigQueryApiError(404, 'notFound', `Not found: URL ${url.pathname} is not part of the local BigQuery endpoint`);
  }

  return server;
}

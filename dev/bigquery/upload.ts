/**
 * Media upload of load jobs: `POST /upload/bigquery/v2/projects/{p}/jobs`, the
 * request the Node client's `table.load(file)` / `createLoadJob(file)` and the
 * `bq load` CLI send, in Google's two upload protocols
 * (https://cloud.google.com/bigquery/docs/reference/api-uploads):
 *
 * - `uploadType=multipart`: one `multipart/related` body, the job resource
 *   (JSON) first and the data second (the Node client; `bq` for an empty file);
 * - `uploadType=resumable`: the job resource alone starts a session, answered
 *   with its URL in `Location`; the data follows in one or more `PUT`s to that
 *   URL with `Content-Range: bytes a-b/total` (`bytes *\/total` asks how much
 *   arrived), each answered `308` with `Range: bytes=0-n` until the last one,
 *   which is answered with the job (`bq load`).
 *
 * Either way the job then runs as `jobs.insert` would run it ({@link LoadJobStarter}).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BigQueryApiError, invalid, notFound } from './errors.js';

/** Largest upload held in memory (the data of one load job). */
const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;
/** Resumable sessions kept waiting for their data; the oldest is dropped first. */
const MAX_SESSIONS = 100;

/** Starts a load job from its job resource and data; answers with the job resource. */
export type LoadJobStarter = (projectId: string, job: Record<string, unknown>, data: Buffer) => unknown;

interface Session {
  projectId: string;
  job: Record<string, unknown>;
  chunks: Buffer[];
  received: number;
}

const UPLOAD_PATH = /^\/upload\/bigquery\/v2\/projects\/([^/]+)\/jobs\/?$/;

async function readAll(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) throw new BigQueryApiError(413, 'invalid', `Request payload size exceeds the limit: ${limit} bytes.`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

function jobResourceOf(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text === '' ? '{}' : text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw invalid('Invalid JSON payload received: the upload metadata must be a Job resource.');
  }
}

/** The job resource of an upload, which must configure a load job. */
function loadJobResource(text: string): Record<string, unknown> {
  const job = jobResourceOf(text);
  const configuration = job.configuration as Record<string, unknown> | undefined;
  if (!configuration?.load) throw invalid('An upload must carry a load job: configuration.load is required.', 'configuration.load');
  return job;
}

/** The parts of a `multipart/related` body: each part's headers (lower-case names) and bytes. */
export function multipartParts(body: Buffer, contentType: string): { headers: Record<string, string>; data: Buffer }[] {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw invalid('A multipart upload needs a multipart/related content type with a boundary.');
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { headers: Record<string, string>; data: Buffer }[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    let start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    if (body[start] === 0x0d) start++;
    if (body[start] === 0x0a) start++;
    const next = body.indexOf(delimiter, start);
    if (next < 0) throw invalid('Malformed multipart upload: a part has no closing boundary.');
    // The line break before a boundary belongs to the boundary, not to the part.
    let end = next;
    if (body[end - 1] === 0x0a) end--;
    if (body[end - 1] === 0x0d) end--;
    const part = body.subarray(start, end);
    let split = part.indexOf('\r\n\r\n');
    let sep = 4;
    if (split < 0) {
      split = part.indexOf('\n\n');
      sep = 2;
    }
    const headerText = split < 0 ? part.toString('latin1') : part.subarray(0, split).toString('latin1');
    const headers: Record<string, string> = {};
    for (const line of headerText.split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, data: split < 0 ? Buffer.alloc(0) : part.subarray(split + sep) });
    at = next;
  }
  return parts;
}

/** Handles the upload paths of the endpoint; `baseUrl` gives the session URLs' origin. */
export class MediaUploads {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly startLoadJob: LoadJobStarter,
    private readonly baseUrl: () => string,
  ) {}

  /** Answers one request under `/upload/`. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const m = UPLOAD_PATH.exec(url.pathname);
    if (!m) throw new BigQueryApiError(404, 'notFound', `Not found: URL ${url.pathname} is not part of the local BigQuery endpoint`);
    const projectId = decodeURIComponent(m[1] as string);
    const method = (req.method ?? 'GET').toUpperCase();
    const uploadId = url.searchParams.get('upload_id');
    if (uploadId !== null) return this.resumeSession(req, res, uploadId);
    if (method !== 'POST') throw new BigQueryApiError(405, 'invalid', `Method ${method} is not allowed for ${url.pathname}`);
    const uploadType = url.searchParams.get('uploadType') ?? '';
    const body = await readAll(req, MAX_UPLOAD_BYTES);
    if (uploadType === 'multipart') {
      const parts = multipartParts(body, req.headers['content-type'] ?? '');
      if (parts.length !== 2) throw invalid(`A multipart upload has two parts (the job, then the data); this one has ${parts.length}.`);
      const [meta, data] = parts as unknown as [{ data: Buffer }, { data: Buffer }];
      return sendJson(res, 200, this.startLoadJob(projectId, loadJobResource(meta.data.toString('utf8')), data.data));
    }
    if (uploadType === 'resumable') {
      const id = randomUUID().replace(/-/g, '');
      this.sessions.set(id, { projectId, job: loadJobResource(body.toString('utf8')), chunks: [], received: 0 });
      if (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value as string);
      res.writeHead(200, { location: `${this.baseUrl()}/upload/bigquery/v2/projects/${encodeURIComponent(projectId)}/jobs?uploadType=resumable&upload_id=${id}`, 'content-length': 0 });
      res.end();
      return;
    }
    throw invalid(`Unsupported by the local BigQuery endpoint: uploadType=${uploadType || '(none)'} (use multipart or resumable)`, 'uploadType');
  }

  /** A PUT (or POST) of data, or a status query, on a resumable session. */
  private async resumeSession(req: IncomingMessage, res: ServerResponse, uploadId: string): Promise<void> {
    const session = this.sessions.get(uploadId);
    if (!session) throw notFound(`Upload session ${uploadId}`);
    const chunk = await readAll(req, MAX_UPLOAD_BYTES - session.received);
    const range = /^bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)$/i.exec(String(req.headers['content-range'] ?? `bytes */${session.received + chunk.length}`).trim());
    if (!range) throw invalid(`Invalid Content-Range: ${String(req.headers['content-range'])}`);
    if (range[1] !== undefined) {
      const first = Number(range[1]);
      // A chunk sent again after a lost answer: keep only the bytes not yet received.
      if (first > session.received) throw invalid(`Upload chunk starts at byte ${first}, but only ${session.received} bytes were received.`);
      const fresh = chunk.subarray(session.received - first);
      session.chunks.push(fresh);
      session.received += fresh.length;
    }
    const total = range[3] === '*' ? undefined : Number(range[3]);
    if (total === undefined || session.received < total) {
      const headers: Record<string, string | number> = { 'content-length': 0 };
      if (session.received > 0) headers.range = `bytes=0-${session.received - 1}`;
      res.writeHead(308, headers);
      res.end();
      return;
    }
    this.sessions.delete(uploadId);
    return sendJson(res, 200, this.startLoadJob(session.projectId, session.job, Buffer.concat(session.chunks)));
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

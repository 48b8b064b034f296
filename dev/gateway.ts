import http from 'node:http';
import type { Socket } from 'node:net';
import { errorEnvelope, NotFoundError, UnavailableError, type AppError } from '../shared/errors/index.js';
import { requestIdFrom } from '../shared/http/index.js';
import { mergeDocuments, type OpenApiDocument } from '../shared/openapi/index.js';

/** Where a path prefix goes. Longest prefix wins. */
export interface GatewayRoute {
  prefix: string;
  target: string;
}

export interface Gateway {
  url: string;
  port: number;
  /** From now on `/healthz` may answer 200 (once every function does too). */
  markReady(): void;
  /**
   * Drains like the platform's front end, answering every connection it accepted:
   * - it keeps listening, and answers each new request `503 UNAVAILABLE` with `Retry-After`
   *   and `Connection: close`;
   * - every request in flight gets its function's answer, and its connection closes after it;
   * - idle keep-alive connections are closed at once (after a FIN; nothing is cut mid-answer);
   * - the listener closes last: once nothing is in flight and no connection has arrived for
   *   {@link SETTLE_MS}; connections that never sent a byte are closed with it.
   *
   * A request still waiting for its function after `drainMs` is answered `503 UNAVAILABLE` by
   * the gateway itself. A client that ignores `Retry-After` and reconnects at once keeps
   * the drain going until `drainMs` too; only then can a connection still in the kernel's
   * accept queue be reset by the listener's close.
   */
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

/**
 * How long {@link Gateway.close} waits for in-flight requests. Cloud Run's grace period
 * after SIGTERM is 10 s, so a function has answered (or been killed) by then.
 * @default 12000
 */
const DEFAULT_DRAIN_MS = 12_000;

/**
 * How long no connection may have arrived before the listener closes. Closing a listening
 * socket resets every connection still in the kernel's accept queue — connections the client
 * already sees as open. A client answered with `Connection: close` often reconnects at once,
 * so the listener waits until that reconnection has come (and been answered 503) or
 * the clients have gone quiet.
 */
const SETTLE_MS = 250;

/** How long the answers given at the end of `drainMs` get to go out before connections are cut. */
const ANSWER_MS = 1_000;

/** What the gateway knows of one accepted connection. */
interface Connection {
  /** Requests whose answer is not complete yet. */
  active: number;
  /** Requests answered in full. */
  served: number;
}

/**
 * The local stand-in for the platform's front door: routes by path prefix to each
 * function's own server, and answers `GET /healthz` with 200 only once every function
 * answers its own `/healthz` and the stack has called {@link Gateway.markReady} (after the
 * demo org and `.local/stack.json` exist, so a client that waited for 200 finds them).
 * The answers it gives itself (no function for the path, function unreachable, stopping)
 * carry the API's error envelope and `X-Request-Id`, like every function's answers.
 */
export async function startGateway({ port, host = '127.0.0.1', routes, healthTargets, drainMs = DEFAULT_DRAIN_MS }: {
  port: number;
  host?: string;
  routes: GatewayRoute[];
  healthTargets: Record<string, string>;
  drainMs?: number;
}): Promise<Gateway> {
  const sorted = [...routes].sort((a, b) => b.prefix.length - a.prefix.length);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  let ready = false;
  let draining = false;
  /** Requests not yet answered in full, each with how to answer it if the drain runs out. */
  const inFlight = new Map<http.ServerResponse, () => void>();
  const connections = new Map<Socket, Connection>();
  let lastArrival = Number.NEGATIVE_INFINITY;
  /** Set while the drain waits: called when a connection arrives or closes, or an answer completes. */
  let wake: (() => void) | undefined;

  const server = http.createServer((req, res) => {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    if (draining) {
      // Accepted during the drain: answered, and told to come back elsewhere or later.
      track(req, res, () => undefined);
      res.shouldKeepAlive = false;
      req.resume();
      sendError(res, new UnavailableError('The gateway is stopping'), requestId);
      return;
    }
    const url = req.url ?? '/';
    if (url === '/healthz' || url.startsWith('/healthz?')) {
      track(req, res, () => undefined);
      void health(healthTargets, agent).then((status) => {
        const ok = ready && !draining && status.ok;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: ok ? 'ok' : draining ? 'stopping' : ready ? 'unavailable' : 'starting', functions: status.functions }));
      });
      return;
    }
    const path = url.split('?')[0] ?? '/';
    if (path === API_DOCUMENT_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      track(req, res, () => undefined);
      req.resume();
      void apiDocument(routes, agent, `http://${req.headers.host ?? host}`).then(
        (document) => {
          res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': requestId });
          res.end(JSON.stringify(document));
        },
        (error: unknown) => sendError(res, new UnavailableError(`A function did not describe itself: ${String(error)}`, { retryAfterSeconds: 1 }), requestId),
      );
      return;
    }
    const target = sorted.find((r) => path === r.prefix || path.startsWith(`${r.prefix}/`));
    if (target === undefined) {
      track(req, res, () => undefined);
      req.resume();
      sendError(res, new NotFoundError(`No function serves ${path}`), requestId);
      return;
    }
    const headers: http.OutgoingHttpHeaders = {};
    for (const [key, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(key)) headers[key] = value;
    // The function sees the same request id the gateway would answer with.
    headers['x-request-id'] = requestId;
    const upstream = http.request(`${target.target}${url}`, { method: req.method, headers, agent }, (up) => {
      const out: http.OutgoingHttpHeaders = {};
      for (const [key, value] of Object.entries(up.headers)) if (!HOP_BY_HOP.has(key)) out[key] = value;
      res.writeHead(up.statusCode ?? 502, out);
      up.pipe(res);
    });
    track(req, res, () => {
      // The drain ran out before the function answered: answer for it rather than reset.
      upstream.destroy();
      if (!res.headersSent) sendError(res, new UnavailableError('The gateway is stopping'), requestId);
      else res.destroy();
    });
    upstream.on('error', () => {
      if (!res.headersSent) sendError(res, new UnavailableError('The function is not reachable'), requestId);
      else res.destroy();
    });
    req.pipe(upstream);
  });

  server.on('connection', (socket: Socket) => {
    lastArrival = performance.now();
    connections.set(socket, { active: 0, served: 0 });
    socket.once('close', () => {
      connections.delete(socket);
      wake?.();
    });
    wake?.();
  });

  function track(req: http.IncomingMessage, res: http.ServerResponse, answerNow: () => void): void {
    const connection = connections.get(req.socket);
    if (connection !== undefined) connection.active += 1;
    inFlight.set(res, answerNow);
    res.once('close', () => {
      inFlight.delete(res);
      if (connection !== undefined) {
        connection.active -= 1;
        connection.served += 1;
        // An answer that started before the drain kept its connection alive: end it now,
        // after the answer (a FIN once the last byte is written).
        if (draining && connection.active === 0 && !req.socket.destroyed) req.socket.destroySoon();
      }
      wake?.();
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${actualPort}`,
    port: actualPort,
    markReady: () => {
      ready = true;
    },
    close: () => {
      closing ??= drain();
      return closing;
    },
  };

  async function drain(): Promise<void> {
    draining = true;
    const deadline = performance.now() + drainMs;
    // Answers still to come end their connection; idle keep-alive connections end now.
    for (const res of inFlight.keys()) if (!res.headersSent) res.shouldKeepAlive = false;
    for (const [socket, connection] of connections) if (connection.served > 0 && connection.active === 0) socket.destroySoon();
    if (!(await waitUntil(settled, deadline))) {
      for (const answerNow of [...inFlight.values()]) answerNow();
      await waitUntil(() => inFlight.size === 0, performance.now() + ANSWER_MS);
    }
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Left: connections that never sent a byte (or, past the deadline, whatever remains).
    for (const socket of connections.keys()) socket.destroy();
    agent.destroy();
    await closed;
  }

  /**
   * Everything accepted has its answer: nothing in flight, every open connection silent
   * (no byte of a request received), and none arrived for {@link SETTLE_MS}.
   */
  function settled(): boolean {
    if (inFlight.size > 0 || performance.now() - lastArrival < SETTLE_MS) return false;
    for (const socket of connections.keys()) if (socket.bytesRead > 0) return false;
    return true;
  }

  /** Resolves true once `done()` holds, false at `deadline`; re-checked on every {@link wake}. */
  async function waitUntil(done: () => boolean, deadline: number): Promise<boolean> {
    while (!done()) {
      const now = performance.now();
      if (now >= deadline) return false;
      // The settle time runs out with no event to wake on: wake for it too.
      const settleAt = lastArrival + SETTLE_MS;
      const wakeAt = settleAt > now ? Math.min(settleAt, deadline) : deadline;
      let timer: NodeJS.Timeout | undefined;
      try {
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, wakeAt - now);
        });
      } finally {
        clearTimeout(timer);
        wake = undefined;
      }
    }
    return true;
  }
}

/** Where the gateway serves the whole API's document. */
export const API_DOCUMENT_PATH = '/v1/openapi.json';

/**
 * The whole API's document: each routed function's own `GET /openapi.json`, merged — read
 * afresh on every request, so it is always what the running functions serve.
 */
async function apiDocument(routes: readonly GatewayRoute[], agent: http.Agent, self: string): Promise<OpenApiDocument> {
  const targets = [...new Set(routes.map((r) => r.target))];
  const parts = await Promise.all(targets.map((target) => getJson<OpenApiDocument>(`${target}/openapi.json`, agent)));
  return mergeDocuments(parts, [{ url: self, description: 'This gateway' }]);
}

function getJson<T>(url: string, agent: http.Agent): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`${url} answered ${res.statusCode ?? 0}`));
        else {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url} timed out`)));
    req.on('error', reject);
  });
}

function sendError(res: http.ServerResponse, error: AppError, requestId: string): void {
  const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'x-request-id': requestId };
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
  res.writeHead(error.status, headers);
  res.end(JSON.stringify(errorEnvelope(error, requestId)));
}

async function health(targets: Record<string, string>, agent: http.Agent): Promise<{ ok: boolean; functions: Record<string, boolean> }> {
  const entries = await Promise.all(
    Object.entries(targets).map(async ([name, url]) => [name, await isHealthy(`${url}/healthz`, agent)] as const),
  );
  const functions = Object.fromEntries(entries);
  return { ok: entries.every(([, ok]) => ok), functions };
}

function isHealthy(url: string, agent: http.Agent): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

import http from 'node:http';
import { errorEnvelope, NotFoundError, UnavailableError, type AppError } from '../shared/errors/index.js';
import { requestIdFrom } from '../shared/http/index.js';

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
   * Drains like the platform's front end: stops accepting connections, closes idle
   * keep-alive connections, lets every in-flight request get its answer from its function,
   * then resolves. A request still waiting for its function after `drainMs` is answered
   * `503 UNAVAILABLE` by the gateway itself; nothing is cut off without an answer.
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
 * The local stand-in for the platform's front door: routes by path prefix to each
 * function's own server, and answers `GET /healthz` with 200 only once every function
 * answers its own `/healthz` and the stack has called {@link Gateway.markReady} (after the
 * demo org and `.local/stack.json` exist, so a client that waited for 200 finds them).
 * The answers it gives itself (no function for the path, function unreachable) carry the
 * API's error envelope and `X-Request-Id`, like every function's answers.
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
  let onIdle: (() => void) | undefined;

  const server = http.createServer((req, res) => {
    // A request on a kept-alive connection during the drain is still served, but its
    // connection ends with the answer.
    if (draining) res.shouldKeepAlive = false;
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const url = req.url ?? '/';
    if (url === '/healthz' || url.startsWith('/healthz?')) {
      track(res, () => undefined);
      void health(healthTargets, agent).then((status) => {
        const ok = ready && !draining && status.ok;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: ok ? 'ok' : draining ? 'stopping' : ready ? 'unavailable' : 'starting', functions: status.functions }));
      });
      return;
    }
    const path = url.split('?')[0] ?? '/';
    const target = sorted.find((r) => path === r.prefix || path.startsWith(`${r.prefix}/`));
    if (target === undefined) {
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
    track(res, () => {
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

  function track(res: http.ServerResponse, answerNow: () => void): void {
    inFlight.set(res, answerNow);
    res.once('close', () => {
      inFlight.delete(res);
      if (draining) {
        server.closeIdleConnections();
        if (inFlight.size === 0) onIdle?.();
      }
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
    // Stops accepting; Node closes the idle keep-alive connections here too.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          new Promise<void>((resolve) => {
            onIdle = resolve;
          }),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, drainMs);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
      for (const answerNow of [...inFlight.values()]) answerNow();
    }
    // Whatever is left is idle or was just answered; nothing in flight is cut off.
    server.closeAllConnections();
    agent.destroy();
    await closed;
  }
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

import http from 'node:http';

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
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

/**
 * The local stand-in for the platform's front door: routes by path prefix to each
 * function's own server, and answers `GET /healthz` with 200 only once every function
 * answers its own `/healthz` and the stack has called {@link Gateway.markReady} (after the
 * demo org and `.local/stack.json` exist, so a client that waited for 200 finds them).
 */
export async function startGateway({ port, host = '127.0.0.1', routes, healthTargets }: {
  port: number;
  host?: string;
  routes: GatewayRoute[];
  healthTargets: Record<string, string>;
}): Promise<Gateway> {
  const sorted = [...routes].sort((a, b) => b.prefix.length - a.prefix.length);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  let ready = false;

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/healthz' || url.startsWith('/healthz?')) {
      void health(healthTargets, agent).then((status) => {
        const ok = ready && status.ok;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: ok ? 'ok' : ready ? 'unavailable' : 'starting', functions: status.functions }));
      });
      return;
    }
    const path = url.split('?')[0] ?? '/';
    const target = sorted.find((r) => path === r.prefix || path.startsWith(`${r.prefix}/`) || path.startsWith(`${r.prefix}?`));
    if (target === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: `No function serves ${path}`, details: [], request_id: '' } }));
      return;
    }
    const headers: http.OutgoingHttpHeaders = {};
    for (const [key, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(key)) headers[key] = value;
    const upstream = http.request(`${target.target}${url}`, { method: req.method, headers, agent }, (up) => {
      const out: http.OutgoingHttpHeaders = {};
      for (const [key, value] of Object.entries(up.headers)) if (!HOP_BY_HOP.has(key)) out[key] = value;
      res.writeHead(up.statusCode ?? 502, out);
      up.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json', 'retry-after': '1' });
        res.end(JSON.stringify({ error: { code: 'UNAVAILABLE', message: 'The function is not reachable', details: [], request_id: '' } }));
      } else {
        res.destroy();
      }
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  return {
    url: `http://${host}:${actualPort}`,
    port: actualPort,
    markReady: () => {
      ready = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
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

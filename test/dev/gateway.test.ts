import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFunctionProcess, type FunctionProcess } from '../../dev/functionProcess.js';
import { startGateway, type Gateway } from '../../dev/gateway.js';
import { bundleFunction, fixtureEntry } from '../fixtures/runtime/functionsFramework.js';
import { accepts, listeningAddresses, nonLoopbackAddresses } from '../helpers/listening.js';
import { ensureFlushTable } from '../fixtures/runtime/postgres.js';
import type { Tally } from '../fixtures/dev/gatewayClients.js';

const databaseUrl = process.env.DATABASE_URL ?? '';

let source: string;
const started: FunctionProcess[] = [];

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await ensureFlushTable(admin);
  await admin.end();
  source = await bundleFunction(fixtureEntry('slow'), 'gateway-slow');
}, 60_000);

afterAll(async () => {
  for (const proc of started) if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
});

/** The `slow` fixture as the stack starts a function: `GET /slow` answers 200 after 1.5 s. */
async function startSlow(): Promise<FunctionProcess> {
  const proc = await startFunctionProcess({
    source,
    target: 'slow',
    env: { DATABASE_URL: databaseUrl, FUNCTION_NAME: 'gateway-slow', LOG_LEVEL: 'INFO', SLOW_MS: '1500' },
  });
  started.push(proc);
  return proc;
}

interface Answer {
  status?: number;
  body?: string;
  requestId?: string;
  retryAfter?: string;
  error?: string;
}

/** One request on its own connection; resolves with the answer or the socket error. */
function request(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body, requestId: res.headers['x-request-id'] as string | undefined, retryAfter: res.headers['retry-after'] }));
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
  });
}

/**
 * An upstream that answers 200, three requests in four at once and the rest after 100–400 ms,
 * counting what reached it: its clients are busy connecting as much as waiting, as against
 * `npm start`.
 */
async function startUpstream(): Promise<{ url: string; received: () => number; close: () => Promise<void> }> {
  let received = 0;
  const server = http.createServer((req, res) => {
    received += 1;
    req.resume();
    setTimeout(() => res.end('slow answer'), Math.random() < 0.75 ? 0 : 100 + Math.random() * 300);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => received,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * test/fixtures/dev/gatewayClients.ts in its own process: `round(url)` runs its clients
 * against `url` until the port refuses them and resolves with what they saw.
 */
function startClients(clients: number): { round: (url: string) => Promise<Tally>; stop: () => void } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/dev/gatewayClients.ts', String(clients)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    round: async (url) => {
      child.stdin.write(`${url}\n`);
      const line = await lines.next();
      if (line.done === true) throw new Error(`gatewayClients exited ${child.exitCode}`);
      return JSON.parse(line.value) as Tally;
    },
    stop: () => child.stdin.end(),
  };
}

describe('the local gateway', () => {
  it('while stopping answers every connection it accepted (200, or 503 UNAVAILABLE with Connection: close) and only then refuses: 20 clients on a new connection per request, stopped 5 times', async () => {
    const clients = startClients(20);
    const rounds: (Tally & { afterStop?: string })[] = [];
    try {
      for (let round = 0; round < 5; round++) {
        const upstream = await startUpstream();
        const gateway = await startGateway({ port: 0, routes: [{ prefix: '/slow', target: upstream.url }], healthTargets: {} });
        const tally = clients.round(`${gateway.url}/slow`);
        // Stopped in the middle of the load, at a different point each round: some clients
        // are waiting for the upstream, others are connecting or sending.
        while (upstream.received() < 40 + round * 13) await sleep(5);
        await gateway.close();
        const afterStop = (await request(`${gateway.url}/slow`)).error;
        rounds.push({ ...(await tally), afterStop });
        await upstream.close();
      }
    } finally {
      clients.stop();
    }

    for (const round of rounds) {
      expect(round.errors).toEqual({});
      expect(round.unexpected).toEqual([]);
      expect(round.unfinished).toBe(0);
      // Each loop ends on a refused connection, and the port refuses once stop has resolved.
      expect(round.refused).toBe(20);
      expect(round.afterStop).toBe('ECONNREFUSED');
      expect(round.answers['200']).toBeGreaterThanOrEqual(20);
      // Connections that arrived during the drain were answered, not refused or reset.
      expect(round.answers['503']).toBeGreaterThan(0);
    }
  }, 60_000);

  it('on stop lets all 20 in-flight requests get their answer while the function is stopped too, and then refuses new connections', async () => {
    const fn = await startSlow();
    const gateway = await startGateway({ port: 0, routes: [{ prefix: '/slow', target: fn.url }], healthTargets: {} });

    const answers = Array.from({ length: 20 }, () => request(`${gateway.url}/slow`));
    // Every request has reached the function and is sleeping there.
    while (fn.lines.filter((line) => line.includes('Slow request started')).length < 20) await sleep(20);
    // What the stack does on SIGINT/SIGTERM: the front end drains, and the function gets
    // SIGTERM while requests are still in flight.
    const closing = gateway.close();
    const stopping = fn.stop('SIGTERM');
    const results = await Promise.all(answers);
    await closing;

    expect(results.filter((r) => r.error !== undefined)).toEqual([]);
    for (const r of results) expect([200, 503]).toContain(r.status);
    expect(results.filter((r) => r.status === 200)).toHaveLength(20);
    expect((await stopping).code).toBe(0);
    expect((await request(`${gateway.url}/slow`)).error).toBe('ECONNREFUSED');
  }, 30_000);

  it('relays the function\'s own answer for requests its drain cancels, instead of resetting them', async () => {
    const fn = await startSlow();
    const gateway = await startGateway({ port: 0, routes: [{ prefix: '/stuck', target: fn.url }], healthTargets: {} });

    const answers = Array.from({ length: 3 }, () => request(`${gateway.url}/stuck`));
    while (fn.lines.filter((line) => line.includes('Stuck request started')).length < 3) await sleep(20);
    const closing = gateway.close();
    const stopping = fn.stop('SIGTERM');
    const results = await Promise.all(answers);
    await closing;

    expect(results.filter((r) => r.error !== undefined)).toEqual([]);
    for (const r of results) {
      // The function cancels them when its drain time is up; the answer is the function's envelope.
      expect([503, 504]).toContain(r.status);
      expect(JSON.parse(r.body ?? '').error.message).not.toBe('The gateway is stopping');
    }
    expect((await stopping).code).toBe(0);
  }, 30_000);

  it('closes idle keep-alive connections at once when it stops', async () => {
    const fn = await startSlow();
    const gateway = await startGateway({ port: 0, routes: [{ prefix: '/slow', target: fn.url }], healthTargets: {} });
    const agent = new http.Agent({ keepAlive: true });
    const idle = await new Promise<Socket>((resolve) => {
      const req = http.get(`${gateway.url}/nothing-here`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(req.socket as Socket));
      });
    });
    const socketClosed = new Promise<void>((resolve) => idle.once('close', () => resolve()));

    const started = performance.now();
    await gateway.close();
    await socketClosed;

    expect(performance.now() - started).toBeLessThan(1000);
    agent.destroy();
    await fn.stop('SIGTERM');
  });

  it('answers a path no function serves with 404 NOT_FOUND in the envelope, with the caller\'s request id', async () => {
    const gateway: Gateway = await startGateway({ port: 0, routes: [], healthTargets: {} });
    try {
      const res = await request(`${gateway.url}/v1/nothing`, { 'x-request-id': 'req-123' });

      expect(res.status).toBe(404);
      expect(res.requestId).toBe('req-123');
      expect(JSON.parse(res.body ?? '')).toEqual({
        error: { code: 'NOT_FOUND', message: 'No function serves /v1/nothing', details: [], request_id: 'req-123' },
      });
    } finally {
      await gateway.close();
    }
  });

  it('answers 503 UNAVAILABLE with Retry-After and a fresh request id when the function is not reachable', async () => {
    const fn = await startSlow();
    const target = fn.url;
    await fn.stop('SIGTERM');
    const gateway = await startGateway({ port: 0, routes: [{ prefix: '/slow', target }], healthTargets: {} });
    try {
      const res = await request(`${gateway.url}/slow`, { 'x-request-id': 'not a sane id!' });

      expect(res.status).toBe(503);
      expect(res.retryAfter).toBe('1');
      expect(res.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(JSON.parse(res.body ?? '')).toEqual({
        error: { code: 'UNAVAILABLE', message: 'The function is not reachable', details: [], request_id: res.requestId },
      });
    } finally {
      await gateway.close();
    }
  });

  it('starts every function listening on 127.0.0.1 only', async () => {
    const fn = await startSlow();
    const port = Number(new URL(fn.url).port);

    expect(listeningAddresses(fn.child.pid as number)).toEqual([`127.0.0.1:${port}`]);
    for (const address of nonLoopbackAddresses()) expect(await accepts(address, port)).toBe(false);
    expect(await accepts('127.0.0.1', port)).toBe(true);
    await fn.stop('SIGTERM');
  });
});

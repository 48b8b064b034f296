import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkWebhookUrl, isPublicAddress, postWebhook } from '../../shared/webhooks/index.js';

/*
 * Webhook URLs cannot reach inside (API.md): https to public addresses only, checked when a
 * budget is saved and again on the address each delivery connects to; no redirects. The
 * receivers here listen on 127.0.0.1 and count every connection, so "refused" also means
 * "never connected to".
 */

const strict = { allowLoopbackHttp: false };
const local = { allowLoopbackHttp: true };

describe('isPublicAddress', () => {
  it.each(['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '2001:4860:4860::8888'])('lets %s through', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it.each([
    '127.0.0.1', '127.255.0.9', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255',
    '::1', '::', 'fe80::1', 'fd00::1', 'fc00::2', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:169.254.169.254', '64:ff9b::a9fe:a9fe', '2001:db8::1', 'not-an-ip',
  ])('refuses %s', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });
});

describe('checkWebhookUrl', () => {
  it.each([
    { url: 'https://127.0.0.1/hook', why: /non-public/ },
    { url: 'https://10.0.0.1/hook', why: /non-public/ },
    { url: 'https://169.254.169.254/computeMetadata/v1/', why: /non-public/ },
    { url: 'https://[::1]:8443/hook', why: /non-public/ },
    { url: 'https://[::ffff:10.0.0.1]/hook', why: /non-public/ },
    // A name that resolves to loopback (/etc/hosts: the system resolver a connection uses).
    { url: 'https://localhost/hook', why: /resolves to a loopback/ },
    { url: 'https://metadata.google.internal/computeMetadata/v1/', why: /metadata/ },
    { url: 'http://example.com/hook', why: /https/ },
    { url: 'https://user:pw@example.com/hook', why: /credentials/ },
    { url: 'ftp://example.com/hook', why: /https/ },
    { url: 'not a url', why: /absolute URL/ },
  ])('refuses $url', async ({ url, why }) => {
    await expect(checkWebhookUrl(url, strict)).rejects.toThrow(why);
  });

  it('allows http://127.0.0.1 only under the local flag, and nothing else of loopback', async () => {
    await expect(checkWebhookUrl('http://127.0.0.1:9/hook', strict)).rejects.toThrow(/https/);
    await expect(checkWebhookUrl('http://127.0.0.1:9/hook', local)).resolves.toMatchObject({ loopback: true });
    await expect(checkWebhookUrl('https://127.0.0.1:9/hook', local)).rejects.toThrow(/non-public/);
    await expect(checkWebhookUrl('http://localhost:9/hook', local)).rejects.toThrow(/https/);
    await expect(checkWebhookUrl('http://10.0.0.1/hook', local)).rejects.toThrow(/https/);
  });
});

describe('postWebhook', () => {
  let connections = 0;
  let requests: { url: string; headers: Record<string, unknown>; body: string }[] = [];
  let answer: (url: string) => { status: number; headers?: Record<string, string> } = () => ({ status: 204 });
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        requests.push({ url: req.url ?? '', headers: req.headers, body });
        const { status, headers } = answer(req.url ?? '');
        res.writeHead(status, headers).end('ignored body');
      });
    });
    server.on('connection', () => (connections += 1));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const reset = (): void => {
    connections = 0;
    requests = [];
  };

  it('POSTs the body with the given headers and reports the status', async () => {
    reset();
    answer = () => ({ status: 204 });

    const outcome = await postWebhook(`http://127.0.0.1:${port}/ok`, '{"a":1}', { 'CloudAct-Signature': 't=1,v1=ab' }, { policy: local, timeoutMs: 5_000 });

    expect(outcome).toMatchObject({ statusCode: 204 });
    expect(outcome.error).toBeUndefined();
    expect(requests).toEqual([{ url: '/ok', headers: expect.objectContaining({ 'cloudact-signature': 't=1,v1=ab', 'content-type': 'application/json' }), body: '{"a":1}' }]);
  });

  it('does not follow a redirect, even to an address that would be allowed: the attempt fails and the target is never contacted', async () => {
    reset();
    answer = (url) => (url === '/moved' ? { status: 302, headers: { location: `http://127.0.0.1:${port}/target` } } : { status: 200 });

    const outcome = await postWebhook(`http://127.0.0.1:${port}/moved`, '{}', {}, { policy: local, timeoutMs: 5_000 });

    expect(outcome).toMatchObject({ statusCode: 302, error: 'redirect not followed (302)' });
    expect(requests.map((r) => r.url)).toEqual(['/moved']);
  });

  it('refuses a loopback receiver without the local flag, and a private one with it, without connecting', async () => {
    reset();

    const strictOutcome = await postWebhook(`http://127.0.0.1:${port}/x`, '{}', {}, { policy: strict, timeoutMs: 5_000 });
    const httpsLoopback = await postWebhook(`https://127.0.0.1:${port}/x`, '{}', {}, { policy: local, timeoutMs: 5_000 });
    const named = await postWebhook(`https://localhost:${port}/x`, '{}', {}, { policy: local, timeoutMs: 5_000 });

    expect(strictOutcome.error).toMatch(/URL refused: must use https/);
    expect(httpsLoopback.error).toMatch(/URL refused: .*non-public/);
    expect(named.error).toMatch(/URL refused: host resolves to a loopback/);
    expect(connections).toBe(0);
  });

  it('gives up on a receiver that does not answer within the timeout', async () => {
    reset();
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const outcome = await postWebhook(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/slow`, '{}', {}, { policy: local, timeoutMs: 300 });

      expect(outcome.error).toBe('no answer within 300 ms');
      expect(outcome.statusCode).toBeUndefined();
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});

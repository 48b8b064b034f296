import { request as httpRequest } from 'node:http';

/** What a hostile request got back, and when. */
export interface HostileAnswer {
  status: number;
  ms: number;
  body: string;
}

/**
 * POSTs `body` — a buffer, or `streamBytes` of spaces in 64 KiB chunks — over a fresh
 * connection and resolves with the answer once it has been read. The client keeps
 * writing until the answer arrives, as an attacker would, and tolerates the server
 * closing the connection under it; only a missing answer is a failure.
 */
export function sendHostile(url: string, headers: Record<string, string>, body: { buffer?: Buffer; streamBytes?: number }): Promise<HostileAnswer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(url, { method: 'POST', headers, agent: false }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
      else if (!answered) setTimeout(() => !answered && reject(new Error(`connection closed with no answer (${error.code})`)), 2000);
    });
    if (body.buffer !== undefined) {
      req.end(body.buffer);
      return;
    }
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = (): void => {
      while (!answered && sent < (body.streamBytes ?? 0)) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    pump();
  });
}

import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';

/** What a hostile request got back, and when. */
export interface HostileAnswer {
  status: number;
  ms: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
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
      const headers = Object.fromEntries(Object.entries(res.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')]));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, headers, body: Buffer.concat(chunks).toString('utf8') }));
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

/** How {@link sendPieces} sends a body: many tiny HTTP chunks, as fast as it can or one at a time. */
export interface PiecesOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Body bytes to send in all, one byte per HTTP chunk (`1\r\n{\r\n` on the wire). */
  bytes: number;
  /** Wait this long between chunks (a slow trickle); 0 sends them back to back. @default 0 */
  intervalMs?: number;
}

/**
 * Sends a chunked body of one-byte chunks over a raw socket (Node's client would merge
 * them), with TCP_NODELAY so a trickle is one segment per byte. The client stops sending
 * once the answer's head arrives, as an attacker who wants the answer would, and resolves
 * with it once the server closes or the body has been read.
 */
export function sendPieces(url: string, { method = 'POST', headers = {}, bytes, intervalMs = 0 }: PiecesOptions): Promise<HostileAnswer> {
  const target = new URL(url);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.hostname, port: Number(target.port), noDelay: true });
    const head = [`${method} ${target.pathname}${target.search} HTTP/1.1`, `Host: ${target.host}`, 'Transfer-Encoding: chunked', 'Content-Type: application/json'];
    for (const [name, value] of Object.entries(headers)) head.push(`${name}: ${value}`);
    let answer = '';
    let answered = false;
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      const match = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      if (match === null) {
        reject(new Error(`no answer after ${sent} bytes sent (${(performance.now() - started).toFixed(0)} ms)`));
        return;
      }
      const bodyStart = answer.indexOf('\r\n\r\n');
      const head = answer.slice(0, bodyStart);
      resolve({ status: Number(match[1]), ms: performance.now() - started, headers: headersOf(head), body: decodeChunked(answer.slice(bodyStart + 4), head) });
    };
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      answer += text;
      answered = true;
      // The answer is a small JSON envelope: once it is whole, stop.
      if (/\r\n\r\n[\s\S]*\}\s*(\r\n0\r\n\r\n)?$/.test(answer)) socket.destroy();
    });
    socket.on('close', finish);
    socket.on('error', () => undefined);
    const piece = Buffer.from('1\r\n{\r\n', 'latin1');
    const block = Buffer.alloc(piece.length * 8192);
    for (let i = 0; i < 8192; i += 1) piece.copy(block, i * piece.length);
    const pump = (): void => {
      while (!answered && !socket.destroyed && sent < bytes) {
        const n = Math.min(8192, bytes - sent);
        sent += n;
        if (!socket.write(n === 8192 ? block : block.subarray(0, n * piece.length))) {
          socket.once('drain', pump);
          return;
        }
      }
      if (!answered && !socket.destroyed) socket.write('0\r\n\r\n');
    };
    const trickle = (): void => {
      if (answered || socket.destroyed) return;
      if (sent >= bytes) {
        socket.write('0\r\n\r\n');
        return;
      }
      sent += 1;
      socket.write(piece);
      timer = setTimeout(trickle, intervalMs);
    };
    socket.once('connect', () => {
      socket.write(`${head.join('\r\n')}\r\n\r\n`);
      if (intervalMs > 0) trickle();
      else pump();
    });
  });
}

/** The header lines of an answer's head, by lower-case name. */
function headersOf(head: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** The body of an answer, de-chunked when it was sent chunked. */
function decodeChunked(raw: string, head: string): string {
  if (!/transfer-encoding:\s*chunked/i.test(head)) return raw;
  let out = '';
  let rest = raw;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    if (eol === -1) return out;
    const size = parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

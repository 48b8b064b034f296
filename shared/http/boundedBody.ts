import type { IncomingMessage } from 'node:http';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { AppError, InvalidArgumentError } from '../errors/index.js';

/**
 * The limit for a request no route of the function claims (unknown path or method, and
 * `/healthz`): such a request is refused anyway, so its body may cost next to nothing.
 */
export const UNROUTED_BODY_LIMIT = 64 * 1024;

/** Content encodings we inflate; anything else is `415` before a byte is read. */
const DECODERS: Readonly<Record<string, () => Transform>> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/** True when the request announces a body (RFC 9112 §6.3: a length or a transfer coding). */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}

/** The one content coding of a request, lower-cased; `identity` when none is declared. */
function contentEncodingOf(req: IncomingMessage): string {
  const raw = req.headers['content-encoding'];
  return raw === undefined || raw.trim() === '' ? 'identity' : raw.trim().toLowerCase();
}

/**
 * Reads a request body into memory, refusing it as soon as it proves larger than `limit`
 * bytes *after decompression*: a 96 KB gzip bomb that would inflate to 100 MB costs at
 * most `limit` bytes and the time to inflate them, then `413`. A declared `Content-Length`
 * over the limit is refused before anything is read; a chunked body is counted as it
 * streams. Stacked codings (`gzip, br`) and unknown ones are `415` — nothing we serve
 * sends them, and each layer would be another inflation to bound.
 *
 * On refusal the request stream is left paused and unpiped: the caller answers with
 * `Connection: close`, and the rest of the body is never buffered.
 */
export function readBoundedBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const encoding = contentEncodingOf(req);
    const decoder = DECODERS[encoding];
    if (encoding !== 'identity' && decoder === undefined) {
      reject(new AppError('UNSUPPORTED_MEDIA_TYPE', `Unsupported content encoding "${encoding.slice(0, 40)}"; use gzip, deflate, br or none`));
      return;
    }
    const declared = Number(req.headers['content-length']);
    // The declared length counts the bytes on the wire; only an identity body is that big
    // once decoded. A compressed one declaring more than the limit is refused too: our
    // bodies are JSON, which compresses, so it could only inflate further.
    if (Number.isFinite(declared) && declared > limit) {
      reject(tooLarge(limit));
      return;
    }

    const source: NodeJS.ReadableStream = decoder === undefined ? req : req.pipe(decoder());
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;

    const cleanup = (): void => {
      source.removeListener('data', onData);
      source.removeListener('end', onEnd);
      source.removeListener('error', onError);
      req.removeListener('aborted', onAborted);
      req.removeListener('error', onError);
    };
    const fail = (error: AppError): void => {
      if (settled) return;
      settled = true;
      cleanup();
      chunks.length = 0;
      if (source !== req) {
        req.unpipe(source as unknown as NodeJS.WritableStream);
        (source as Transform).destroy();
      }
      req.pause();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limit) {
        fail(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received));
    };
    const onError = (error: Error & { code?: string }): void => {
      // zlib's errors (Z_DATA_ERROR, Z_BUF_ERROR …) mean the body is not what it claims.
      fail(
        source !== req && error.code?.startsWith('Z_') === true
          ? new InvalidArgumentError(`The request body is not valid ${encoding} data`, [{ path: '(body)', message: 'Invalid content encoding' }])
          : new InvalidArgumentError('The request body was incomplete'),
      );
    };
    const onAborted = (): void => fail(new InvalidArgumentError('The request body was incomplete'));

    source.on('data', onData);
    source.once('end', onEnd);
    source.on('error', onError);
    req.once('aborted', onAborted);
    if (source !== req) req.on('error', onError);
  });
}

function tooLarge(limit: number): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `The request body exceeds ${limit} bytes`);
}

/** The media type of a request, lower-cased and without parameters. */
function mediaTypeOf(req: IncomingMessage): string {
  const raw = req.headers['content-type'] ?? '';
  const semicolon = raw.indexOf(';');
  return (semicolon === -1 ? raw : raw.slice(0, semicolon)).trim().toLowerCase();
}

/** The `charset` parameter of the request's content type, lower-cased, if any. */
function charsetOf(req: IncomingMessage): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(req.headers['content-type'] ?? '');
  return match?.[1]?.toLowerCase();
}

const JSON_TYPES = new Set(['application/json', 'application/cloudevents+json']);

/**
 * What body-parser would have made of the body, for the media types functions-framework
 * parses: JSON (`application/json`, CloudEvents structured mode) as a value, `text/plain`
 * as a string, anything else as the raw bytes. JSON is parsed the way body-parser's strict
 * mode does (an object or array at the top; empty means `{}`), in UTF-8 only.
 */
export function parseBody(req: IncomingMessage, raw: Buffer): unknown {
  const type = mediaTypeOf(req);
  if (JSON_TYPES.has(type)) {
    const charset = charsetOf(req);
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'JSON bodies must be UTF-8');
    }
    if (raw.length === 0) return {};
    let text = raw.toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const first = /\S/.exec(text)?.[0];
    if (first !== '{' && first !== '[') throw malformedJson();
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw malformedJson();
    }
  }
  if (type === 'text/plain') return raw.toString('utf8');
  return raw;
}

function malformedJson(): AppError {
  return new InvalidArgumentError('The request body is not valid JSON', [{ path: '(body)', message: 'Malformed JSON' }]);
}

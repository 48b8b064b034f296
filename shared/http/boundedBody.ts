import type { IncomingMessage } from 'node:http';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { AppError, InvalidArgumentError } from '../errors/index.js';

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

/** What a body may cost: its bytes, the pieces they arrive in, and the time they take. */
export interface BodyBounds {
  /** Bytes after decompression. */
  limit: number;
  /** Pieces the body may arrive in (HTTP chunks or socket reads). @default {@link maxChunksFor}(limit) */
  maxChunks?: number;
  /** Milliseconds from the first read to the last byte. @default {@link BODY_READ_TIMEOUT_MS} */
  timeoutMs?: number;
}

/** How long a body may take to arrive: a slow trickle holds a connection and a deadline, not memory. */
export const BODY_READ_TIMEOUT_MS = 10_000;

/**
 * The pieces a body of at most `limit` bytes may arrive in: 1,024, plus one per KiB of the
 * limit. A client that sends 1 MiB in 1,460-byte TCP segments needs ~720; one that sends a
 * byte per chunk is refused after a few thousand bytes, whatever it declares.
 */
export function maxChunksFor(limit: number): number {
  return 1024 + Math.ceil(limit / 1024);
}

/** Where an unknown-length body starts: grows by doubling, never past the limit. */
const INITIAL_CAPACITY = 16 * 1024;

/**
 * Reads a request body into **one** buffer, refusing it as soon as it proves larger than
 * `limit` bytes *after decompression*, arrives in more than `maxChunks` pieces, or takes
 * longer than `timeoutMs`.
 *
 * What a body costs is bounded per byte as well as in bytes: each piece Node's parser hands
 * over is a `Buffer` of its own (hundreds of bytes of overhead for a one-byte chunk), so
 * keeping the pieces until the end would make 8 MiB of one-byte chunks cost gigabytes. Each
 * piece is copied into a buffer sized from `Content-Length` (or grown by doubling) and
 * dropped at once; the piece count caps the parser's per-piece work too.
 *
 * A 96 KB gzip bomb that would inflate to 100 MB costs at most `limit` bytes and the time to
 * inflate them, then `413`. A declared `Content-Length` over the limit is refused before
 * anything is read. Stacked codings (`gzip, br`) and unknown ones are `415` — nothing we
 * serve sends them, and each layer would be another inflation to bound.
 *
 * On refusal the request stream is left paused and unpiped: the caller answers with
 * `Connection: close`, and the rest of the body is never buffered.
 */
export function readBoundedBody(req: IncomingMessage, { limit, maxChunks = maxChunksFor(limit), timeoutMs = BODY_READ_TIMEOUT_MS }: BodyBounds): Promise<Buffer> {
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
    // A declared length is where the buffer grows to at its first growth, not what it starts
    // at: headers alone must not make the instance allocate a whole limit per connection.
    const expected = decoder === undefined && Number.isFinite(declared) && declared > 0 ? declared : undefined;
    let buffer = Buffer.allocUnsafe(Math.min(INITIAL_CAPACITY, limit, expected ?? limit));
    let received = 0;
    let pieces = 0;
    let settled = false;

    const cleanup = (): void => {
      clearTimeout(timer);
      source.removeListener('data', onData);
      source.removeListener('end', onEnd);
      source.removeListener('error', onError);
      req.removeListener('data', onPiece);
      req.removeListener('aborted', onAborted);
      req.removeListener('error', onError);
    };
    const fail = (error: AppError): void => {
      if (settled) return;
      settled = true;
      cleanup();
      buffer = EMPTY;
      if (source !== req) {
        req.unpipe(source as unknown as NodeJS.WritableStream);
        (source as Transform).destroy();
      }
      req.pause();
      reject(error);
    };
    // Pieces are counted as they come off the wire, before any decoder.
    const onPiece = (): void => {
      pieces += 1;
      if (pieces > maxChunks) fail(tooManyPieces(maxChunks));
    };
    const onData = (chunk: Buffer): void => {
      if (source === req) onPiece();
      if (settled) return;
      const end = received + chunk.length;
      if (end > limit) {
        fail(tooLarge(limit));
        return;
      }
      if (end > buffer.length) {
        const grown = Buffer.allocUnsafe(Math.min(limit, Math.max(end, expected ?? buffer.length * 2)));
        buffer.copy(grown, 0, 0, received);
        buffer = grown;
      }
      chunk.copy(buffer, received);
      received = end;
    };
    const onEnd = (): void => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(buffer.subarray(0, received));
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
    const timer = setTimeout(
      () => fail(new InvalidArgumentError(`The request body did not arrive within ${timeoutMs / 1000} s`, [{ path: '(body)', message: 'Too slow' }])),
      timeoutMs,
    );

    source.on('data', onData);
    source.once('end', onEnd);
    source.on('error', onError);
    req.once('aborted', onAborted);
    if (source !== req) {
      req.on('data', onPiece);
      req.on('error', onError);
    }
  });
}

const EMPTY = Buffer.alloc(0);

function tooManyPieces(maxChunks: number): AppError {
  return new InvalidArgumentError(`The request body arrived in more than ${maxChunks} pieces; send it in fewer, larger chunks`, [
    { path: '(body)', message: 'Too many chunks' },
  ]);
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

/**
 * Secret redaction for log entries. Two nets, because neither alone is enough:
 * - by key name, at any depth (`apiKey`, `authorization`, `credential`, `password`, …);
 * - by value shape, in any string (our `cak_…` API keys, `Bearer …` tokens, PEM keys),
 *   so a secret inside an error message or a free-text field is caught too.
 */
export const REDACTED = '[REDACTED]';

const SECRET_KEY = /(pass(word|wd)?|secret|token|api[-_]?key|apikey|authorization|credential|private[-_]?key|cookie|^key$|dek|kek|ciphertext)/i;
const SECRET_VALUE_PATTERNS: RegExp[] = [
  /cak_[A-Za-z0-9_-]{8,}/g, // CloudAct API keys
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, // Authorization header values
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  /\b(sk|pk|rk)-[A-Za-z0-9_-]{16,}/g, // provider-style secret keys (OpenAI, Anthropic …)
  /(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]+@/g, // passwords inside connection strings (user may be empty)
];

/**
 * Matches whenever any of {@link SECRET_VALUE_PATTERNS} could: one test instead of five
 * replaces for the many log strings (URLs, messages) that hold no secret at all.
 */
const MAYBE_SECRET = /cak_|bearer|basic|-----BEGIN|(?:sk|pk|rk)-|postgres/i;

/** Redacts secret-looking substrings of a string. */
export function redactString(value: string): string {
  if (!MAYBE_SECRET.test(value)) return value;
  let out = value;
  for (const pattern of SECRET_VALUE_PATTERNS) {
    out = out.replace(pattern, (match: string, p1: unknown) =>
      typeof p1 === 'string' && p1.startsWith('postgres') ? `${p1}${REDACTED}@` : REDACTED,
    );
  }
  return out;
}

/**
 * Returns a deep copy of `value` with secrets replaced. Cycles and depth are bounded so a
 * pathological object can never hang or blow the stack of the logger.
 */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') {
    return typeof value === 'bigint' ? value.toString() : value;
  }
  if (seen.has(value)) return '[Circular]';
  if (depth > 8) return '[Truncated]';
  seen.add(value);
  if (value instanceof Error) return serializeError(value, depth, seen);
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => redact(v, depth + 1, seen));
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `[Buffer ${value.length} bytes]`;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) && v !== null && v !== undefined && typeof v !== 'boolean' ? REDACTED : redact(v, depth + 1, seen);
  }
  return out;
}

function serializeError(error: Error, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: error.name,
    message: redactString(error.message),
    stack: error.stack === undefined ? undefined : redactString(error.stack),
  };
  for (const key of ['code', 'status', 'detail', 'routine'] as const) {
    const v = (error as unknown as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = redact(v, depth + 1, seen);
  }
  if (error.cause !== undefined) out.cause = redact(error.cause, depth + 1, seen);
  return out;
}

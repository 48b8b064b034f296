import { withBudget } from '../../shared/deadline/index.js';
import { InvalidArgumentError, UnavailableError } from '../../shared/errors/index.js';
import { log } from '../../shared/log/index.js';
import { ANTHROPIC_VERSION, providerBaseUrl } from '../../shared/providers/index.js';

/** Visible ASCII only: anything else cannot go into an HTTP header (fetch would throw). */
const HEADER_SAFE = /^[\x21-\x7e]+$/;

function headersFor(provider: string, credential: string): Record<string, string> {
  const headers: Record<string, string> = { authorization: `Bearer ${credential}`, accept: 'application/json' };
  if (provider === 'anthropic') {
    // Anthropic authenticates with x-api-key and requires a version header.
    headers['x-api-key'] = credential;
    headers['anthropic-version'] = ANTHROPIC_VERSION;
  }
  return headers;
}

/**
 * Asks the provider whether a credential works: `GET {base}/v1/models` under the
 * integration tier (min(60 s, time left)). 2xx → `valid`; 401/403 → `invalid`; a hang past
 * the budget → `504 DEADLINE_EXCEEDED` (from `withBudget`); anything else (5xx, 429,
 * unreachable) → `503 UNAVAILABLE`, since it says nothing about the credential.
 *
 * The credential goes only into the request headers: it is never logged, and no error
 * built here carries it (messages name the provider and the HTTP status only).
 */
export async function checkCredential(provider: string, credential: string): Promise<'valid' | 'invalid'> {
  const base = providerBaseUrl(provider);
  if (base === undefined) {
    throw new InvalidArgumentError(`Validation is not available for provider ${provider}`, [
      { path: 'validate', message: `no validation endpoint is known for ${provider}; store without validate` },
    ]);
  }
  if (!HEADER_SAFE.test(credential)) {
    throw new InvalidArgumentError('Invalid body: credential', [
      { path: 'credential', message: 'must be printable ASCII without spaces to be validated as a bearer token' },
    ]);
  }
  const url = new URL(`${base.pathname.replace(/\/+$/, '')}/v1/models`, base);
  return withBudget('integration', async (budget) => {
    let status: number;
    try {
      // No redirects: a redirect would carry the credential to a host nobody configured.
      const response = await fetch(url, { headers: headersFor(provider, credential), signal: budget.signal, redirect: 'manual' });
      status = response.status;
      // Free the socket; the body is not needed.
      await response.body?.cancel().catch(() => undefined);
    } catch (error) {
      if (budget.signal.aborted) throw error; // withBudget turns it into DEADLINE_EXCEEDED
      log.warn('The provider could not be reached to validate a credential', { provider, host: url.host, err: error });
      throw new UnavailableError(`The ${provider} API could not be reached to validate the credential; retry later`, { cause: error, retryAfterSeconds: 5 });
    }
    if (status >= 200 && status < 300) return 'valid';
    if (status === 401 || status === 403) return 'invalid';
    log.warn('The provider answered a credential check with an unexpected status', { provider, host: url.host, status });
    throw new UnavailableError(`The ${provider} API answered ${status}; the credential could not be validated, retry later`, { retryAfterSeconds: 5 });
  });
}

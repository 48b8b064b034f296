import { AppError } from '../errors/index.js';

/**
 * The provider rejected the stored credential (HTTP 401/403), or no usable credential is
 * stored. Permanent: the same call fails until someone stores a new key, so a pipeline
 * run fails at once and its message is acked. The message names the provider and the
 * status only — never the credential, never the provider's body (OpenAI's 401 body
 * echoes part of the key).
 */
export class ProviderCredentialError extends AppError {
  override readonly name = 'ProviderCredentialError';
  readonly provider: string;
  constructor(provider: string, message: string) {
    super('PERMISSION_DENIED', message);
    this.provider = provider;
  }
}

/**
 * The provider answered something we cannot use: a body that is not the documented
 * shape, a 4xx other than 401/403/429, a redirect, a page loop. Permanent for this run:
 * retrying the same request returns the same answer, so it is not retryable even though
 * its code is `INTERNAL` (which the HTTP error family treats as retryable). Callers decide
 * with {@link AppError.retryable}, which is false here. The message is safe to store as a
 * run's error: it never quotes the provider's body.
 */
export class ProviderResponseError extends AppError {
  override readonly name = 'ProviderResponseError';
  readonly provider: string;
  constructor(provider: string, message: string, cause?: unknown) {
    super('INTERNAL', message, { cause });
    this.provider = provider;
  }

  override get retryable(): boolean {
    return false;
  }
}

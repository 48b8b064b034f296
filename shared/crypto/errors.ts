/** Why a secret could not be sealed or opened. Stable: operators and alerts branch on it. */
export type CryptoErrorCode =
  /** The record was wrapped by another key-encryption key than the one configured. */
  | 'KEK_MISMATCH'
  /** The key-encryption key refused the wrapped data key (wrong key, or tampered bytes). */
  | 'UNWRAP_FAILED'
  /** The data key opened, but the ciphertext, IV, tag or AAD do not authenticate. */
  | 'DECRYPT_FAILED'
  /** The key-encryption key could not be reached or used (KMS down, bad key file). */
  | 'KEK_UNAVAILABLE';

/**
 * The one error family of `shared/crypto`. Messages name keys by id and never carry
 * plaintext, data keys or ciphertext; the foreign error (OpenSSL, KMS) is kept as `cause`.
 * At the HTTP boundary it is a foreign error, so callers see `500 INTERNAL` and the log
 * gets the code and the cause.
 */
export class CryptoError extends Error {
  override readonly name: string = 'CryptoError';
  readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
  }
}

/** Opening a sealed secret failed; nothing of the plaintext is returned. Fails closed. */
export class DecryptionError extends CryptoError {
  override readonly name = 'DecryptionError';
}

/** The key-encryption key is misconfigured or unreachable. */
export class KeyEncryptionKeyError extends CryptoError {
  override readonly name = 'KeyEncryptionKeyError';
}

/**
 * Envelope encryption of secrets at rest: AES-256-GCM with a per-record data key, wrapped
 * by a key-encryption key (Cloud KMS in Google Cloud, a local key file locally).
 *
 * Runtime, not function code: the integrations function seals credentials, and the
 * pipeline worker must open them to pull usage — and a function never imports another.
 */
export { CryptoError, DecryptionError, KeyEncryptionKeyError, type CryptoErrorCode } from './errors.js';
export type { KeyEncryptionKey } from './KeyEncryptionKey.js';
export { LocalFileKek } from './LocalFileKek.js';
export { KmsKek, KMS_KEY_NAME_PATTERN, type KmsClientLike } from './KmsKek.js';
export { openSecret, sealSecret, type SealedSecret } from './envelope.js';
export { credentialAad, loadSealedCredential } from './sealedCredential.js';
export { createKek, getKek, getKmsClient, parseKekConfig, type ClosableKmsClient, type KekConfig } from './getKek.js';

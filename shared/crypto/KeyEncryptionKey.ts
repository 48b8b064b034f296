/**
 * A key-encryption key (KEK): wraps and unwraps per-record data keys. The data keys do
 * the bulk encryption locally; only these 32-byte keys ever travel to the KEK (Cloud KMS
 * in Google Cloud, a local key file on a laptop), so the KEK's holder never sees a secret.
 */
export interface KeyEncryptionKey {
  /**
   * Which key this is, stored next to every record it wraps (`kek_id`): the KMS key name,
   * or `local:<hash prefix>` for a key file. A record whose id differs is refused before
   * any decryption is tried.
   */
  readonly id: string;
  /** Encrypts a data key. */
  wrap(dek: Buffer): Promise<Buffer>;
  /** Decrypts a wrapped data key; throws `DecryptionError` (`UNWRAP_FAILED`) when it cannot. */
  unwrap(wrapped: Buffer): Promise<Buffer>;
}

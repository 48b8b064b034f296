import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DecryptionError, KeyEncryptionKeyError } from './errors.js';
import type { KeyEncryptionKey } from './KeyEncryptionKey.js';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** First byte of a wrapped key, so the format can change without guessing. */
const FORMAT_V1 = 1;
/** Binds a wrapped key to its purpose: a wrapped DEK cannot be passed off as anything else. */
const WRAP_AAD = Buffer.from('cloudact:dek-wrap:v1', 'utf8');

/**
 * A key-encryption key held in a local file (32 random bytes, base64): the local stack's
 * stand-in for Cloud KMS. Wrapping is AES-256-GCM with a random IV; the output is
 * `version (1) | iv (12) | tag (16) | encrypted DEK`.
 */
export class LocalFileKek implements KeyEncryptionKey {
  readonly id: string;
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new KeyEncryptionKeyError('KEK_UNAVAILABLE', `A local key-encryption key must be ${KEY_BYTES} bytes`);
    this.#key = Buffer.from(key);
    // The id identifies the key without revealing it: a prefix of its SHA-256.
    this.id = `local:${createHash('sha256').update(this.#key).digest('hex').slice(0, 16)}`;
  }

  /**
   * Reads a key file: base64 of exactly 32 bytes, surrounding whitespace ignored. Errors
   * name the variable and the file, never the content.
   */
  static async fromFile(path: string): Promise<LocalFileKek> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new KeyEncryptionKeyError('KEK_UNAVAILABLE', `The key file named by KEK_FILE (${path}) cannot be read`, error);
    }
    const encoded = text.trim();
    const key = Buffer.from(encoded, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || key.length !== KEY_BYTES) {
      throw new KeyEncryptionKeyError('KEK_UNAVAILABLE', `The key file named by KEK_FILE (${path}) must hold ${KEY_BYTES} bytes in base64`);
    }
    return new LocalFileKek(key);
  }

  /** A fresh random key in the file format (base64 of 32 bytes), for the local stack and tests. */
  static generateKeyFileContent(): string {
    return `${randomBytes(KEY_BYTES).toString('base64')}\n`;
  }

  async wrap(dek: Buffer): Promise<Buffer> {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(WRAP_AAD);
    const encrypted = Buffer.concat([cipher.update(dek), cipher.final()]);
    return Buffer.concat([Buffer.of(FORMAT_V1), iv, cipher.getAuthTag(), encrypted]);
  }

  async unwrap(wrapped: Buffer): Promise<Buffer> {
    if (wrapped.length <= 1 + IV_BYTES + TAG_BYTES || wrapped[0] !== FORMAT_V1) {
      throw new DecryptionError('UNWRAP_FAILED', `The wrapped data key is not in the ${this.id} format`);
    }
    const iv = wrapped.subarray(1, 1 + IV_BYTES);
    const tag = wrapped.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const encrypted = wrapped.subarray(1 + IV_BYTES + TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv);
      decipher.setAAD(WRAP_AAD);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(encrypted), decipher.final()]);
    } catch (error) {
      throw new DecryptionError('UNWRAP_FAILED', `The data key could not be unwrapped with key-encryption key ${this.id}`, error);
    }
  }
}

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptionError } from './errors.js';
import type { KeyEncryptionKey } from './KeyEncryptionKey.js';

const DEK_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A secret encrypted at rest: what goes into the database, column for column. */
export interface SealedSecret {
  ciphertext: Buffer;
  /** 12 random bytes, fresh per record. */
  iv: Buffer;
  /** The GCM tag: authenticates ciphertext, IV and AAD together. */
  authTag: Buffer;
  /** The record's data key, encrypted by the key-encryption key. */
  wrappedDek: Buffer;
  /** Which key-encryption key wrapped it. */
  kekId: string;
}

/**
 * Envelope encryption: a fresh random 256-bit data key per record encrypts the secret
 * with AES-256-GCM; the KEK wraps only the data key. `aad` binds the ciphertext to where
 * it is stored (e.g. `org_id|provider`): bytes copied to another row fail to open.
 */
export async function sealSecret(plaintext: string, aad: string, kek: KeyEncryptionKey): Promise<SealedSecret> {
  const dek = randomBytes(DEK_BYTES);
  try {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', dek, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const authTag = cipher.getAuthTag();
    const wrappedDek = await kek.wrap(dek);
    return { ciphertext, iv, authTag, wrappedDek, kekId: kek.id };
  } finally {
    // Best effort: the data key does not outlive this call in our memory.
    dek.fill(0);
  }
}

/**
 * Opens a sealed secret. Fails closed: a record wrapped by another KEK, a data key the KEK
 * refuses, or a ciphertext/IV/tag/AAD that does not authenticate all throw
 * `DecryptionError`, and no byte of plaintext is returned.
 */
export async function openSecret(sealed: SealedSecret, aad: string, kek: KeyEncryptionKey): Promise<string> {
  if (sealed.kekId !== kek.id) {
    throw new DecryptionError('KEK_MISMATCH', `The secret was wrapped by key-encryption key ${sealed.kekId}, but ${kek.id} is configured`);
  }
  if (sealed.iv.length !== IV_BYTES || sealed.authTag.length !== TAG_BYTES) {
    throw new DecryptionError('DECRYPT_FAILED', 'The sealed secret has an IV or tag of the wrong length');
  }
  const dek = await kek.unwrap(sealed.wrappedDek);
  try {
    if (dek.length !== DEK_BYTES) throw new DecryptionError('UNWRAP_FAILED', `The unwrapped data key is not ${DEK_BYTES} bytes`);
    const decipher = createDecipheriv('aes-256-gcm', dek, sealed.iv);
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(sealed.authTag);
    let plaintext: Buffer;
    try {
      // `final()` verifies the tag; only then is the plaintext trusted and returned whole.
      plaintext = Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
    } catch (error) {
      throw new DecryptionError('DECRYPT_FAILED', 'The secret does not authenticate (wrong data key, tampered bytes, or moved to another record)', error);
    }
    try {
      return plaintext.toString('utf8');
    } finally {
      plaintext.fill(0);
    }
  } finally {
    dek.fill(0);
  }
}

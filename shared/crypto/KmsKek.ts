import { budgetMs } from '../deadline/index.js';
import { DecryptionError, KeyEncryptionKeyError } from './errors.js';
import type { KeyEncryptionKey } from './KeyEncryptionKey.js';

/**
 * What we use of `@google-cloud/kms`'s `KeyManagementServiceClient`. Narrow on purpose:
 * tests pass a fake (no real client is ever built without Google credentials).
 */
export interface KmsClientLike {
  encrypt(request: { name: string; plaintext: Buffer }, options?: { timeout?: number }): Promise<[{ ciphertext?: Uint8Array | string | null }, ...unknown[]]>;
  decrypt(request: { name: string; ciphertext: Buffer }, options?: { timeout?: number }): Promise<[{ plaintext?: Uint8Array | string | null }, ...unknown[]]>;
}

/** KMS key names: `projects/P/locations/L/keyRings/R/cryptoKeys/K`. */
export const KMS_KEY_NAME_PATTERN = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;

/** gRPC `INVALID_ARGUMENT`: KMS's answer to a ciphertext it cannot decrypt with this key. */
const GRPC_INVALID_ARGUMENT = 3;

function toBuffer(value: Uint8Array | string | null | undefined): Buffer | undefined {
  if (value === null || value === undefined) return undefined;
  return typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.from(value);
}

/**
 * A Cloud KMS symmetric key as the key-encryption key. Each call gets the integration
 * tier's budget (bounded by the invocation's time left) as its gRPC deadline, so a slow
 * KMS cannot outlive the request.
 */
export class KmsKek implements KeyEncryptionKey {
  readonly id: string;
  readonly #client: KmsClientLike;

  constructor(keyName: string, client: KmsClientLike) {
    if (!KMS_KEY_NAME_PATTERN.test(keyName)) {
      throw new KeyEncryptionKeyError('KEK_UNAVAILABLE', 'KMS_KEY_NAME must look like projects/P/locations/L/keyRings/R/cryptoKeys/K');
    }
    this.id = keyName;
    this.#client = client;
  }

  async wrap(dek: Buffer): Promise<Buffer> {
    let ciphertext: Buffer | undefined;
    try {
      const [response] = await this.#client.encrypt({ name: this.id, plaintext: dek }, { timeout: budgetMs('integration') });
      ciphertext = toBuffer(response.ciphertext);
    } catch (error) {
      throw new KeyEncryptionKeyError('KEK_UNAVAILABLE', `Cloud KMS could not wrap a data key with ${this.id}`, error);
    }
    if (ciphertext === undefined || ciphertext.length === 0) {
      throw new KeyEncryptionKeyError('KEK_UNAVAILABLE', `Cloud KMS returned no ciphertext for ${this.id}`);
    }
    return ciphertext;
  }

  async unwrap(wrapped: Buffer): Promise<Buffer> {
    let plaintext: Buffer | undefined;
    try {
      const [response] = await this.#client.decrypt({ name: this.id, ciphertext: wrapped }, { timeout: budgetMs('integration') });
      plaintext = toBuffer(response.plaintext);
    } catch (error) {
      if ((error as { code?: unknown }).code === GRPC_INVALID_ARGUMENT) {
        throw new DecryptionError('UNWRAP_FAILED', `Cloud KMS refused to unwrap the data key with ${this.id}`, error);
      }
      throw new KeyEncryptionKeyError('KEK_UNAVAILABLE', `Cloud KMS could not unwrap a data key with ${this.id}`, error);
    }
    if (plaintext === undefined || plaintext.length === 0) {
      throw new DecryptionError('UNWRAP_FAILED', `Cloud KMS returned no data key for ${this.id}`);
    }
    return plaintext;
  }
}

import { lazyClient } from '../clients/index.js';
import { ConfigError, envText, parseEnv, type Env } from '../config/index.js';
import type { KeyEncryptionKey } from './KeyEncryptionKey.js';
import { KMS_KEY_NAME_PATTERN, KmsKek, type KmsClientLike } from './KmsKek.js';
import { LocalFileKek } from './LocalFileKek.js';

/** Where the key-encryption key lives. */
export type KekConfig = { kind: 'kms'; keyName: string } | { kind: 'file'; path: string };

const kekEnvEnv = {
  /** A Cloud KMS symmetric key (Google Cloud). Wins over `KEK_FILE` when both are set. */
  KMS_KEY_NAME: envText({ pattern: KMS_KEY_NAME_PATTERN, message: 'must look like projects/P/locations/L/keyRings/R/cryptoKeys/K' }),
  /** A local file holding 32 random bytes in base64 (local stack, tests). */
  KEK_FILE: envText(),
};

/**
 * Chooses the key-encryption key from the environment: `KMS_KEY_NAME` set → Cloud KMS,
 * else `KEK_FILE` → local key file; neither → a `ConfigError` naming both variables, so a
 * function that stores secrets refuses to start rather than store them unprotected.
 */
export function parseKekConfig(env: Env = process.env): KekConfig {
  const parsed = parseEnv(kekEnvEnv, env);
  if (parsed.KMS_KEY_NAME !== undefined) return { kind: 'kms', keyName: parsed.KMS_KEY_NAME };
  if (parsed.KEK_FILE !== undefined) return { kind: 'file', path: parsed.KEK_FILE };
  throw new ConfigError([
    {
      variable: 'KMS_KEY_NAME or KEK_FILE',
      message: 'must be set (KMS_KEY_NAME: a Cloud KMS key name in Google Cloud; KEK_FILE: a file holding a base64 32-byte key, locally)',
    },
  ]);
}

/** A KMS client that can also be closed (the real one can). */
export type ClosableKmsClient = KmsClientLike & { close(): Promise<void> };

/**
 * The instance's one Cloud KMS client, built on first use only — never where
 * `KMS_KEY_NAME` is unset, so the local stack and tests never construct one.
 */
export const getKmsClient = lazyClient<ClosableKmsClient>('kms', {
  create: async () => {
    // Imported on first use: the local stack and tests never load the KMS client library.
    const { KeyManagementServiceClient } = await import('@google-cloud/kms');
    return new KeyManagementServiceClient();
  },
  close: (client) => client.close(),
});

/** Builds the key-encryption key a config names. */
export async function createKek(config: KekConfig, kmsClient: () => Promise<KmsClientLike> = getKmsClient): Promise<KeyEncryptionKey> {
  return config.kind === 'kms' ? new KmsKek(config.keyName, await kmsClient()) : LocalFileKek.fromFile(config.path);
}

/**
 * The instance's key-encryption key, created on first use from the environment and
 * reused by every warm invocation (a key file is read once; a KMS client is opened once).
 */
export const getKek = lazyClient<KeyEncryptionKey>('kek', {
  create: () => createKek(parseKekConfig()),
});

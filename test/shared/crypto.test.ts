/**
 * `shared/crypto`: envelope encryption (`sealSecret`/`openSecret`), the two key-encryption
 * keys (a local key file, Cloud KMS behind a fake client — no real client is ever built
 * without Google credentials) and the choice between them from the environment.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/config/index.js';
import {
  CryptoError,
  DecryptionError,
  KeyEncryptionKeyError,
  KmsKek,
  LocalFileKek,
  createKek,
  openSecret,
  parseKekConfig,
  sealSecret,
  type KeyEncryptionKey,
  type KmsClientLike,
  type SealedSecret,
} from '../../shared/crypto/index.js';
import { Deadline, runWithDeadline } from '../../shared/deadline/index.js';

const keyDir = mkdtempSync(path.join(tmpdir(), 'cloudact-crypto-'));

afterAll(() => {
  rmSync(keyDir, { recursive: true, force: true });
});

const KMS_NAME = 'projects/p/locations/global/keyRings/r/cryptoKeys/k';

/** A KMS client that wraps with a local key, as Cloud KMS would with its own; records each call. */
function fakeKms(local = new LocalFileKek(randomBytes(32))): KmsClientLike & { calls: { method: string; name: string; timeout: number | undefined }[] } {
  const calls: { method: string; name: string; timeout: number | undefined }[] = [];
  return {
    calls,
    encrypt: async ({ name, plaintext }, options) => {
      calls.push({ method: 'encrypt', name, timeout: options?.timeout });
      return [{ ciphertext: await local.wrap(plaintext) }];
    },
    decrypt: async ({ name, ciphertext }, options) => {
      calls.push({ method: 'decrypt', name, timeout: options?.timeout });
      try {
        return [{ plaintext: await local.unwrap(ciphertext) }];
      } catch {
        throw Object.assign(new Error('3 INVALID_ARGUMENT: Decryption failed'), { code: 3 });
      }
    },
  };
}

/** A copy of `sealed` with one byte of `field` flipped. */
function flipped(sealed: SealedSecret, field: 'ciphertext' | 'iv' | 'authTag' | 'wrappedDek', at = 0): SealedSecret {
  const bytes = Buffer.from(sealed[field]);
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  return { ...sealed, [field]: bytes };
}

describe('envelope encryption (sealSecret, openSecret)', () => {
  const kek = new LocalFileKek(randomBytes(32));

  it('opens what it sealed, with the same AAD and key, to the exact text (unicode included)', async () => {
    const secret = 'sk-live-ünïcødé-🔑-' + randomBytes(8).toString('hex');

    const sealed = await sealSecret(secret, 'org-1|openai', kek);

    expect(await openSecret(sealed, 'org-1|openai', kek)).toBe(secret);
    expect(sealed.kekId).toBe(kek.id);
    expect(sealed.iv).toHaveLength(12);
    expect(sealed.authTag).toHaveLength(16);
    expect(sealed.ciphertext.includes(Buffer.from(secret))).toBe(false);
  });

  it('opens an empty secret to the empty string', async () => {
    const sealed = await sealSecret('', 'aad', kek);

    expect(await openSecret(sealed, 'aad', kek)).toBe('');
  });

  it('uses a fresh data key and IV per record: the same text sealed twice shares no bytes', async () => {
    const a = await sealSecret('same', 'aad', kek);
    const b = await sealSecret('same', 'aad', kek);

    expect(a.iv.equals(b.iv)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
    expect(a.wrappedDek.equals(b.wrappedDek)).toBe(false);
  });

  it.each([
    ['the ciphertext', 'ciphertext'],
    ['the IV', 'iv'],
    ['the tag', 'authTag'],
  ] as const)('refuses a record with one byte of %s flipped (DECRYPT_FAILED)', async (_name, field) => {
    const sealed = await sealSecret('tamper-me', 'aad', kek);

    const error = await openSecret(flipped(sealed, field), 'aad', kek).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DecryptionError);
    expect(error).toMatchObject({ code: 'DECRYPT_FAILED' });
  });

  it('refuses a record whose wrapped data key was tampered with (UNWRAP_FAILED)', async () => {
    const sealed = await sealSecret('tamper-me', 'aad', kek);

    await expect(openSecret(flipped(sealed, 'wrappedDek', 20), 'aad', kek)).rejects.toMatchObject({ name: 'DecryptionError', code: 'UNWRAP_FAILED' });
  });

  it('refuses the right bytes under another AAD (a record moved to another row)', async () => {
    const sealed = await sealSecret('bound', 'org-1|openai', kek);

    await expect(openSecret(sealed, 'org-1|anthropic', kek)).rejects.toMatchObject({ code: 'DECRYPT_FAILED' });
    await expect(openSecret(sealed, 'org-2|openai', kek)).rejects.toMatchObject({ code: 'DECRYPT_FAILED' });
  });

  it('refuses a record wrapped by another key before asking any key to unwrap (KEK_MISMATCH)', async () => {
    const sealed = await sealSecret('rotated', 'aad', kek);
    let unwrapCalls = 0;
    const other: KeyEncryptionKey = {
      id: 'local:0000000000000000',
      wrap: (dek) => kek.wrap(dek),
      unwrap: (wrapped) => {
        unwrapCalls += 1;
        return kek.unwrap(wrapped);
      },
    };

    const error = await openSecret(sealed, 'aad', other).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'DecryptionError', code: 'KEK_MISMATCH' });
    expect((error as Error).message).toContain(kek.id);
    expect((error as Error).message).toContain('local:0000000000000000');
    expect(unwrapCalls).toBe(0);
  });

  it.each([
    ['an IV of 11 bytes', { iv: randomBytes(11) }],
    ['a tag of 8 bytes (a truncated tag would weaken authentication)', { authTag: randomBytes(8) }],
  ])('refuses %s before decrypting', async (_name, change) => {
    const sealed = await sealSecret('lengths', 'aad', kek);

    await expect(openSecret({ ...sealed, ...change }, 'aad', kek)).rejects.toMatchObject({ code: 'DECRYPT_FAILED' });
  });

  it('refuses a data key of the wrong size from the key-encryption key', async () => {
    const sealed = await sealSecret('short key', 'aad', kek);
    const shortKeys: KeyEncryptionKey = { id: kek.id, wrap: (dek) => kek.wrap(dek), unwrap: async () => randomBytes(16) };

    await expect(openSecret(sealed, 'aad', shortKeys)).rejects.toMatchObject({ code: 'UNWRAP_FAILED' });
  });

  it('never puts the secret in the message or the serialised form of an error', async () => {
    const secret = `CRED_${randomBytes(12).toString('hex')}`;
    const sealed = await sealSecret(secret, 'aad', kek);

    const errors = await Promise.all([
      openSecret(sealed, 'other', kek).catch((e: unknown) => e),
      openSecret(flipped(sealed, 'ciphertext'), 'aad', kek).catch((e: unknown) => e),
      openSecret({ ...sealed, kekId: 'x' }, 'aad', kek).catch((e: unknown) => e),
    ]);

    for (const error of errors) {
      expect(error).toBeInstanceOf(CryptoError);
      expect(`${String(error)} ${JSON.stringify(error)} ${String((error as Error).cause)}`).not.toContain(secret);
    }
  });
});

describe('LocalFileKek', () => {
  it('names a key by a prefix of its hash: the same bytes give the same id, other bytes another', () => {
    const bytes = randomBytes(32);

    const a = new LocalFileKek(bytes);
    const b = new LocalFileKek(Buffer.from(bytes));
    const c = new LocalFileKek(randomBytes(32));

    expect(a.id).toMatch(/^local:[0-9a-f]{16}$/);
    expect(b.id).toBe(a.id);
    expect(c.id).not.toBe(a.id);
    expect(a.id).not.toContain(bytes.toString('hex').slice(0, 16));
  });

  it.each([16, 31, 33, 0])('refuses a key of %i bytes', (size) => {
    expect(() => new LocalFileKek(randomBytes(size))).toThrow(KeyEncryptionKeyError);
  });

  it('wraps into version 1 | IV | tag | data key, and unwraps it back', async () => {
    const kek = new LocalFileKek(randomBytes(32));
    const dek = randomBytes(32);

    const wrapped = await kek.wrap(dek);

    expect(wrapped[0]).toBe(1);
    expect(wrapped).toHaveLength(1 + 12 + 16 + 32);
    expect((await kek.unwrap(wrapped)).equals(dek)).toBe(true);
  });

  it.each([
    ['another format version', (w: Buffer) => Buffer.concat([Buffer.of(2), w.subarray(1)])],
    ['a truncated key (header only)', (w: Buffer) => w.subarray(0, 29)],
    ['a flipped byte of the wrapped key', (w: Buffer) => Buffer.concat([w.subarray(0, -1), Buffer.of((w.at(-1) ?? 0) ^ 1)])],
  ])('refuses to unwrap %s (UNWRAP_FAILED)', async (_name, change) => {
    const kek = new LocalFileKek(randomBytes(32));
    const wrapped = await kek.wrap(randomBytes(32));

    await expect(kek.unwrap(change(wrapped))).rejects.toMatchObject({ name: 'DecryptionError', code: 'UNWRAP_FAILED' });
  });

  it('cannot unwrap what another key wrapped', async () => {
    const wrapped = await new LocalFileKek(randomBytes(32)).wrap(randomBytes(32));

    await expect(new LocalFileKek(randomBytes(32)).unwrap(wrapped)).rejects.toMatchObject({ code: 'UNWRAP_FAILED' });
  });

  it('reads a generated key file, surrounding whitespace ignored, to the same key each time', async () => {
    const file = path.join(keyDir, 'generated.b64');
    writeFileSync(file, `  ${LocalFileKek.generateKeyFileContent()}\n\n`);

    const a = await LocalFileKek.fromFile(file);
    const b = await LocalFileKek.fromFile(file);

    expect(a.id).toBe(b.id);
    expect(await b.unwrap(await a.wrap(Buffer.alloc(32, 7)))).toEqual(Buffer.alloc(32, 7));
  });

  it('generates a different key each time, in the file format', () => {
    const a = LocalFileKek.generateKeyFileContent();
    const b = LocalFileKek.generateKeyFileContent();

    expect(a).not.toBe(b);
    expect(Buffer.from(a.trim(), 'base64')).toHaveLength(32);
    expect(a.endsWith('\n')).toBe(true);
  });

  it('refuses a file it cannot read, naming KEK_FILE and the path', async () => {
    const missing = path.join(keyDir, 'missing.b64');

    const error = await LocalFileKek.fromFile(missing).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'KeyEncryptionKeyError', code: 'KEK_UNAVAILABLE' });
    expect((error as Error).message).toContain(`KEK_FILE (${missing}) cannot be read`);
    expect((error as Error).cause).toMatchObject({ code: 'ENOENT' });
  });

  it('refuses 32 bytes that are not strict base64, without echoing the content', async () => {
    const file = path.join(keyDir, 'urlsafe.b64');
    // Node decodes url-safe characters to 32 bytes too, but they are not the format the file promises.
    const content = `-_${randomBytes(32).toString('base64').slice(2)}`;
    writeFileSync(file, content);

    const error = await LocalFileKek.fromFile(file).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'KEK_UNAVAILABLE' });
    expect((error as Error).message).not.toContain(content);
  });
});

describe('KmsKek', () => {
  it('wraps and unwraps through the client under the key name, each call with the integration budget as its deadline', async () => {
    const kms = fakeKms();
    const kek = new KmsKek(KMS_NAME, kms);
    const deadline = new Deadline({ timeoutMs: 5_000, safetyMarginMs: 1_000 });

    const dek = randomBytes(32);
    const unwrapped = await runWithDeadline(deadline, async () => kek.unwrap(await kek.wrap(dek)));

    expect(unwrapped.equals(dek)).toBe(true);
    expect(kek.id).toBe(KMS_NAME);
    expect(kms.calls.map((c) => `${c.method} ${c.name}`)).toEqual([`encrypt ${KMS_NAME}`, `decrypt ${KMS_NAME}`]);
    // The invocation has about 4 s left, less than the integration tier: the call gets what is left.
    for (const call of kms.calls) {
      expect(call.timeout).toBeGreaterThan(3_000);
      expect(call.timeout).toBeLessThanOrEqual(4_000);
    }
  });

  it('accepts base64 strings as well as bytes in the answers (the REST transport sends strings)', async () => {
    const dek = randomBytes(32);
    const kek = new KmsKek(KMS_NAME, {
      encrypt: async () => [{ ciphertext: Buffer.from('wrapped!').toString('base64') }],
      decrypt: async ({ ciphertext }) => [{ plaintext: ciphertext.equals(Buffer.from('wrapped!')) ? dek.toString('base64') : null }],
    });

    const wrapped = await kek.wrap(dek);

    expect(wrapped.toString()).toBe('wrapped!');
    expect((await kek.unwrap(wrapped)).equals(dek)).toBe(true);
  });

  it.each(['my-key', 'projects/p/locations/l/keyRings/r', 'projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1'])(
    'refuses the key name %s',
    (name) => {
      expect(() => new KmsKek(name, fakeKms())).toThrow(KeyEncryptionKeyError);
    },
  );

  it('calls a KMS it cannot reach unavailable, keeping its error as cause', async () => {
    const down = Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: 14 });
    const kek = new KmsKek(KMS_NAME, {
      encrypt: () => Promise.reject(down),
      decrypt: () => Promise.reject(down),
    });

    const wrapError = await kek.wrap(randomBytes(32)).catch((e: unknown) => e);
    const unwrapError = await kek.unwrap(randomBytes(64)).catch((e: unknown) => e);

    for (const error of [wrapError, unwrapError]) {
      expect(error).toBeInstanceOf(KeyEncryptionKeyError);
      expect(error).toMatchObject({ code: 'KEK_UNAVAILABLE' });
      expect((error as Error).cause).toBe(down);
    }
  });

  it('calls a ciphertext KMS refuses (INVALID_ARGUMENT) a failed unwrap, not an outage', async () => {
    const kek = new KmsKek(KMS_NAME, fakeKms());

    const error = await kek.unwrap(randomBytes(64)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DecryptionError);
    expect(error).toMatchObject({ code: 'UNWRAP_FAILED' });
  });

  it.each([
    ['no ciphertext', { ciphertext: null }],
    ['an empty ciphertext', { ciphertext: new Uint8Array() }],
  ])('refuses an answer with %s to wrap', async (_name, answer) => {
    const kek = new KmsKek(KMS_NAME, { encrypt: async () => [answer], decrypt: async () => [{ plaintext: null }] });

    await expect(kek.wrap(randomBytes(32))).rejects.toMatchObject({ code: 'KEK_UNAVAILABLE' });
  });

  it.each([
    ['no plaintext', { plaintext: undefined }],
    ['an empty plaintext', { plaintext: '' }],
  ])('refuses an answer with %s to unwrap', async (_name, answer) => {
    const kek = new KmsKek(KMS_NAME, { encrypt: async () => [{ ciphertext: 'eA==' }], decrypt: async () => [answer] });

    await expect(kek.unwrap(randomBytes(64))).rejects.toMatchObject({ name: 'DecryptionError', code: 'UNWRAP_FAILED' });
  });
});

describe('key-encryption key selection', () => {
  it('refuses to start without KMS_KEY_NAME or KEK_FILE, naming both', () => {
    const attempt = (): unknown => parseKekConfig({});

    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/KMS_KEY_NAME or KEK_FILE must be set/);
  });

  it.each([
    [{ KMS_KEY_NAME: 'projects/p/locations/l/keyRings/r/cryptoKeys/k', KEK_FILE: '/x' }, { kind: 'kms', keyName: 'projects/p/locations/l/keyRings/r/cryptoKeys/k' }],
    [{ KEK_FILE: '/keys/kek.b64' }, { kind: 'file', path: '/keys/kek.b64' }],
    [{ KMS_KEY_NAME: '  ', KEK_FILE: '/keys/kek.b64' }, { kind: 'file', path: '/keys/kek.b64' }],
  ])('chooses the key from %j', (env, expected) => {
    expect(parseKekConfig(env)).toEqual(expected);
  });

  it('refuses a malformed KMS key name', () => {
    expect(() => parseKekConfig({ KMS_KEY_NAME: 'my-key' })).toThrow(/KMS_KEY_NAME/);
  });

  it('refuses a key file that does not hold 32 base64 bytes, without echoing its content', async () => {
    const bad = path.join(keyDir, 'short.b64');
    writeFileSync(bad, Buffer.from('too short').toString('base64'));

    const error = await LocalFileKek.fromFile(bad).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CryptoError);
    expect((error as Error).message).toMatch(/KEK_FILE .* must hold 32 bytes in base64/);
    expect((error as Error).message).not.toContain(Buffer.from('too short').toString('base64'));
  });

  it('wraps and unwraps through Cloud KMS behind the same interface (a fake client, never a real one)', async () => {
    const kmsKey = randomBytes(32);
    const local = new LocalFileKek(kmsKey);
    const calls: string[] = [];
    const fake: KmsClientLike = {
      encrypt: async ({ name, plaintext }) => {
        calls.push(`encrypt ${name}`);
        return [{ ciphertext: await local.wrap(plaintext) }];
      },
      decrypt: async ({ name, ciphertext }) => {
        calls.push(`decrypt ${name}`);
        try {
          return [{ plaintext: await local.unwrap(ciphertext) }];
        } catch {
          throw Object.assign(new Error('3 INVALID_ARGUMENT: Decryption failed'), { code: 3 });
        }
      },
    };
    const name = 'projects/p/locations/global/keyRings/r/cryptoKeys/k';
    const kek = new KmsKek(name, fake);

    const sealed = await sealSecret('kms-credential', 'org|openai', kek);
    const opened = await openSecret(sealed, 'org|openai', kek);
    const tampered = await kek.unwrap(Buffer.concat([sealed.wrappedDek, Buffer.of(1)])).catch((e: unknown) => e);

    expect(opened).toBe('kms-credential');
    expect(sealed.kekId).toBe(name);
    expect(calls).toEqual([`encrypt ${name}`, `decrypt ${name}`, `decrypt ${name}`]);
    expect(tampered).toMatchObject({ name: 'DecryptionError', code: 'UNWRAP_FAILED' });
  });

  it('builds a local key from a file config, and a Cloud KMS key from a KMS config with the given client', async () => {
    const file = path.join(keyDir, 'config.b64');
    writeFileSync(file, LocalFileKek.generateKeyFileContent());
    const kms = fakeKms();

    const local = await createKek({ kind: 'file', path: file });
    const cloud = await createKek({ kind: 'kms', keyName: KMS_NAME }, async () => kms);

    expect(local).toBeInstanceOf(LocalFileKek);
    expect(local.id).toBe((await LocalFileKek.fromFile(file)).id);
    expect(cloud).toBeInstanceOf(KmsKek);
    expect(cloud.id).toBe(KMS_NAME);
    await cloud.wrap(randomBytes(32));
    expect(kms.calls).toHaveLength(1);
  });

  it('asks for no KMS client when the key is a file', async () => {
    const file = path.join(keyDir, 'noclient.b64');
    writeFileSync(file, LocalFileKek.generateKeyFileContent());
    let asked = 0;

    await createKek({ kind: 'file', path: file }, async () => {
      asked += 1;
      return fakeKms();
    });

    expect(asked).toBe(0);
  });
});

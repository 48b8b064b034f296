import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalFileKek } from '../../shared/crypto/index.js';
import { setLogLevel, setLogSink } from '../../shared/log/index.js';
import { call, closeFunctionRuntime, closeTestDb, createTenant, serveFunction, testDb, type ServedFunction, type TestTenant } from '../helpers/tenants.js';

// A 3 s function leaves ~2 s after the 1 s safety margin, so the integration budget is
// min(60 s, ~2 s). Its own file: every request here lives under that short deadline.
const keyDir = mkdtempSync(path.join(tmpdir(), 'cloudact-kek-'));
process.env.KEK_FILE = path.join(keyDir, 'kek.b64');
writeFileSync(process.env.KEK_FILE, LocalFileKek.generateKeyFileContent(), { mode: 0o600 });
delete process.env.KMS_KEY_NAME;
process.env.FUNCTION_NAME = 'integrations';
process.env.FUNCTION_TIMEOUT_SECONDS = '3';

const logLines: string[] = [];
setLogLevel('DEBUG');
setLogSink((line) => logLines.push(line));

/** A provider that accepts the connection and the request, and never answers. */
const hanging = new Set<ServerResponse>();
const provider = createServer((_req, res) => void hanging.add(res));
await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
process.env.PROVIDER_BASE_URL_OPENAI = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;

await import('../../functions/integrations/index.js');

const credential = `CRED_hang_${randomBytes(18).toString('hex')}`;
let fn: ServedFunction;
let org: TestTenant;

beforeAll(async () => {
  fn = await serveFunction('integrations');
  org = await createTenant({ slugPrefix: 'integto' });
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  provider.closeAllConnections();
  await new Promise<void>((resolve) => provider.close(() => resolve()));
  await fn.close();
  await closeTestDb();
  await closeFunctionRuntime();
  // The key file is secret material: it does not outlive the run.
  rmSync(keyDir, { recursive: true, force: true });
});

describe('integrations validation deadline', () => {
  it('ends a provider that hangs in 504 DEADLINE_EXCEEDED within the integration budget, storing nothing', async () => {
    const started = performance.now();

    const res = await call(fn.url, org.apiKey, 'PUT', '/v1/integrations/openai', { credential, validate: true });
    const seconds = (performance.now() - started) / 1000;

    expect(res.status).toBe(504);
    expect(res.body).toMatchObject({ error: { code: 'DEADLINE_EXCEEDED' } });
    expect(hanging.size).toBe(1); // the provider was really called, and really hung
    expect(seconds).toBeGreaterThan(1.5);
    expect(seconds).toBeLessThan(3.5);
    expect((await testDb().query(`SELECT 1 FROM integrations WHERE org_id = $1`, [org.orgId])).rowCount).toBe(0);
  });

  it('never wrote the credential to any log line', () => {
    expect(logLines.some((l) => l.includes('504'))).toBe(true);
    expect(logLines.join('\n')).not.toContain(credential);
  });
});

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import { startFunctionProcess, waitForExit, type FunctionProcess } from '../../dev/functionProcess.js';
import { bundleFunction } from '../fixtures/runtime/functionsFramework.js';
import { documentedFetch } from '../helpers/apiContract.js';

const databaseUrl = process.env.DATABASE_URL as string;
const adminToken = `adm_${randomBytes(24).toString('base64url')}`;
const suffix = randomBytes(3).toString('hex');
const slug = (name: string): string => `${name}_${suffix}`;

let orgsSource: string;
let quotaSource: string;
let orgs: FunctionProcess;
let quota: FunctionProcess;
let admin: pg.Client;
let bigquery: BigQueryEndpoint;

function env(name: string, timeout: number): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    ADMIN_TOKEN: adminToken,
    FUNCTION_NAME: `${name}-e2e-${suffix}`,
    FUNCTION_TIMEOUT_SECONDS: String(timeout),
    LOG_LEVEL: 'INFO',
    BIGQUERY_API_ENDPOINT: bigquery.url,
  };
}

async function call(base: string, method: string, path: string, key?: string, body?: unknown): Promise<{ status: number; json: any }> {
  // Checked against the document the function process serves, like every test client's answers.
  const res = await documentedFetch(`${base}${path}`, {
    method,
    headers: {
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

async function onboard(org: string, extra: Record<string, unknown> = {}): Promise<{ status: number; json: any }> {
  return call(orgs.url, 'POST', '/v1/orgs', adminToken, { org_slug: org, name: `Org ${org}`, admin_email: `ops@${org.replace(/_/g, "-")}.example`, ...extra });
}

beforeAll(async () => {
  bigquery = await startBigQueryEndpoint({ port: 0 });
  [orgsSource, quotaSource] = await Promise.all([bundleFunction('functions/orgs/index.ts', 'orgs'), bundleFunction('functions/quota/index.ts', 'quota')]);
  [orgs, quota] = await Promise.all([
    startFunctionProcess({ source: orgsSource, target: 'orgs', env: env('orgs', 310) }),
    startFunctionProcess({ source: quotaSource, target: 'quota', env: env('quota', 60) }),
  ]);
  admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
});

afterAll(async () => {
  await Promise.allSettled([orgs?.stop(), quota?.stop()]);
  await admin?.end();
  await bigquery?.close();
});

describe('orgs and quota through real function processes', () => {
  it('onboards an org whose key reads its profile and quota; revoking the first key locks out only that key', async () => {
    const created = await onboard(slug('acme'), { plan: 'pro' });
    expect(created.status).toBe(201);
    expect(created.json.org).toMatchObject({ org_slug: slug('acme'), plan: 'pro', status: 'active' });
    const first = created.json.api_key.key as string;
    expect(first).toMatch(/^cak_[A-Za-z0-9_-]{43}$/);

    const me = await call(orgs.url, 'GET', '/v1/orgs/me', first);
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ org_slug: slug('acme'), plan: 'pro', limits: { daily_pipeline_runs: 100, concurrent_pipelines: 3 } });

    const q = await call(quota.url, 'GET', '/v1/quota', first);
    expect(q.status).toBe(200);
    expect(q.json).toEqual({
      org_slug: slug('acme'),
      date: new Date().toISOString().slice(0, 10),
      pipelines_run_today: 0,
      daily_limit: 100,
      remaining_today: 100,
      concurrent_running: 0,
      concurrent_limit: 3,
    });

    const second = await call(orgs.url, 'POST', '/v1/orgs/me/api-keys', first);
    expect(second.status).toBe(201);
    const secondKey = second.json.key as string;

    const listed = await call(orgs.url, 'GET', '/v1/orgs/me/api-keys', secondKey);
    expect(listed.json.items).toHaveLength(2);
    expect(JSON.stringify(listed.json)).not.toContain(first);
    expect(JSON.stringify(listed.json)).not.toContain(secondKey);

    const revoked = await call(orgs.url, 'DELETE', `/v1/orgs/me/api-keys/${created.json.api_key.id as string}`, secondKey);
    expect(revoked.status).toBe(204);
    // At once on the revoking instance, although the key was in its auth cache.
    expect((await call(orgs.url, 'GET', '/v1/orgs/me', first)).status).toBe(401);
    expect((await call(orgs.url, 'GET', '/v1/orgs/me', secondKey)).status).toBe(200);
    expect((await call(quota.url, 'GET', '/v1/quota', secondKey)).status).toBe(200);
  });

  it.each([
    ['no Authorization header', undefined],
    ['a malformed key', 'not-a-key'],
    ['an unknown key', `cak_${randomBytes(32).toString('base64url')}`],
  ])('answers 401 UNAUTHENTICATED for %s', async (_case, key) => {
    for (const [base, path] of [
      [orgs.url, '/v1/orgs/me'],
      [quota.url, '/v1/quota'],
    ] as const) {
      const res = await call(base, 'GET', path, key);
      expect(res.status).toBe(401);
      expect(res.json.error).toMatchObject({ code: 'UNAUTHENTICATED' });
      expect(res.json.error.request_id).toEqual(expect.any(String));
    }
  });

  it('answers 401 for a key revoked elsewhere when this instance looks it up', async () => {
    const created = await onboard(slug('rev'));
    const key = created.json.api_key.key as string;
    await admin.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [created.json.api_key.id]);
    // quota never saw this key: its lookup goes to the database and finds it revoked.
    expect((await call(quota.url, 'GET', '/v1/quota', key)).status).toBe(401);
  });

  it('refuses a tenant key on the admin endpoint', async () => {
    const created = await onboard(slug('tenant'));
    const res = await call(orgs.url, 'POST', '/v1/orgs', created.json.api_key.key, { org_slug: slug('other'), name: 'x', admin_email: 'a@b.example' });
    expect([401, 403]).toContain(res.status);
    expect(res.json.error.code).toBe('PERMISSION_DENIED');
  });

  it('answers 409 ALREADY_EXISTS when the slug is taken', async () => {
    expect((await onboard(slug('taken'))).status).toBe(201);
    const again = await onboard(slug('taken'), { admin_email: 'someone@else.example' });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('ALREADY_EXISTS');
  });

  it.each([
    ['org_slug', { org_slug: 'A-bad-slug' }],
    ['org_slug', { org_slug: 'ab' }],
    ['admin_email', { admin_email: 'not-an-email' }],
    ['plan', { plan: 'platinum' }],
    ['name', { name: '' }],
  ])('answers 400 naming %s when it is invalid', async (field, patch) => {
    const res = await call(orgs.url, 'POST', '/v1/orgs', adminToken, {
      org_slug: slug('valid'),
      name: 'Valid',
      admin_email: 'ok@valid.example',
      ...patch,
    });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('INVALID_ARGUMENT');
    expect(res.json.error.details.map((d: { path: string }) => d.path)).toContain(field);
  });

  it('refuses to start without ADMIN_TOKEN and names the variable', async () => {
    const { ADMIN_TOKEN: _omit, ...withoutToken } = env('orgs', 310);
    const proc = await startFunctionProcess({ source: orgsSource, target: 'orgs', env: withoutToken, waitFor: 'spawned' });
    const code = await waitForExit(proc);
    expect(code).not.toBe(0);
    expect(proc.lines.join('\n')).toContain('ADMIN_TOKEN');
  });
});

describe('API-key last-used writes', () => {
  it('batches 500 authenticated requests into a handful of writes and flushes the latest use on SIGTERM', async () => {
    await admin.query(`CREATE TABLE IF NOT EXISTS test_last_used_writes (key_id uuid NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`);
    await admin.query(`CREATE OR REPLACE FUNCTION test_record_last_used() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.last_used_at IS DISTINCT FROM OLD.last_used_at THEN INSERT INTO test_last_used_writes (key_id) VALUES (NEW.id); END IF;
        RETURN NEW;
      END $$`);
    await admin.query(`CREATE OR REPLACE TRIGGER test_last_used_writes_trg AFTER UPDATE ON api_keys FOR EACH ROW EXECUTE FUNCTION test_record_last_used()`);

    const created = await onboard(slug('busy'));
    const key = created.json.api_key.key as string;
    const keyId = created.json.api_key.id as string;
    const own = await startFunctionProcess({ source: quotaSource, target: 'quota', env: env('quota', 60) });
    let lastRequestAt = 0;
    try {
      const workers = Array.from({ length: 10 }, async () => {
        for (let i = 0; i < 50; i += 1) {
          lastRequestAt = Date.now();
          const res = await fetch(`${own.url}/v1/quota`, { headers: { authorization: `Bearer ${key}` } });
          expect(res.status).toBe(200);
          await res.arrayBuffer();
        }
      });
      await Promise.all(workers);
    } finally {
      const { code } = await own.stop('SIGTERM');
      expect(code).toBe(0);
    }
    const writes = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM test_last_used_writes WHERE key_id = $1', [keyId]);
    expect(writes.rows[0]?.n).toBeGreaterThanOrEqual(1);
    expect(writes.rows[0]?.n).toBeLessThanOrEqual(5);
    const used = await admin.query<{ last_used_at: Date }>('SELECT last_used_at FROM api_keys WHERE id = $1', [keyId]);
    expect(used.rows[0]?.last_used_at.getTime()).toBeGreaterThanOrEqual(lastRequestAt - 5);
  });
});

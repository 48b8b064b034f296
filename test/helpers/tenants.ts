import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { generateApiKey } from '../../shared/auth/index.js';
import { resetLifecycle, shutdown } from '../../shared/lifecycle/index.js';
import { documentedFetch } from './apiContract.js';

/** An org with an active API key, written straight into the database. */
export interface TestTenant {
  orgId: string;
  orgSlug: string;
  apiKey: string;
  keyId: string;
}

let pool: pg.Pool | undefined;

/**
 * A small pool of the test's own (not the function's) for arranging and asserting rows.
 * Closed by {@link closeTestDb}.
 */
export function testDb(): pg.Pool {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === '') throw new Error('DATABASE_URL is not set; run the tests through vitest');
  pool ??= new pg.Pool({ connectionString: url, max: 2, application_name: 'vitest-helper' });
  return pool;
}

export async function closeTestDb(): Promise<void> {
  const current = pool;
  pool = undefined;
  await current?.end();
}

/**
 * Ends the in-process functions' runtime through the production shutdown path (the process
 * is not exited): the buffered API-key last-used times and every registered flush (kept
 * audit rows) are written, then the function's pool and the other lazy clients close. Call
 * last in `afterAll`, so nothing is left to flush when the worker exits — after the run's
 * PostgreSQL may already be gone.
 */
export async function closeFunctionRuntime(): Promise<void> {
  await shutdown('test teardown', { exit: () => undefined });
  resetLifecycle();
}

/**
 * Creates an active org and one API key for it, the way onboarding leaves them, without
 * going through the orgs function (tests of other functions must not depend on it).
 */
export async function createTenant({ slugPrefix = 't', plan = 'free' }: { slugPrefix?: string; plan?: string } = {}): Promise<TestTenant> {
  const orgSlug = `${slugPrefix}_${randomBytes(6).toString('hex')}`;
  const key = generateApiKey();
  const db = testDb();
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const org = await client.query<{ id: string }>(
      `INSERT INTO orgs (org_slug, name, plan, admin_email, status) VALUES ($1, $2, $3, $4, 'active') RETURNING id`,
      [orgSlug, `Test org ${orgSlug}`, plan, `${orgSlug}@example.com`],
    );
    const orgId = (org.rows[0] as { id: string }).id;
    const created = await client.query<{ id: string }>(
      `INSERT INTO api_keys (org_id, key_hash, prefix) VALUES ($1, $2, $3) RETURNING id`,
      [orgId, key.hash, key.prefix],
    );
    await client.query('COMMIT');
    return { orgId, orgSlug, apiKey: key.key, keyId: (created.rows[0] as { id: string }).id };
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

/** A function served in-process on a loopback port, as functions-framework builds it. */
export interface ServedFunction {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves a registered function (its module must be imported first) on 127.0.0.1:0 with
 * functions-framework's own test server: the same Express app and body parsing as
 * production.
 */
export async function serveFunction(name: string): Promise<ServedFunction> {
  const { getTestServer } = await import('@google-cloud/functions-framework/testing');
  const server: Server = getTestServer(name);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}

/**
 * A JSON call with a tenant's key; returns status, parsed body (if any) and raw text. The
 * answer must be one the function's OpenAPI document describes (`documentedFetch`), or
 * the call throws.
 */
export async function call(
  base: string,
  apiKey: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown; text: string; headers: Headers }> {
  const response = await documentedFetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed, text, headers: response.headers };
}

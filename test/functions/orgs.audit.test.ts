/**
 * The orgs function writes the audit log: served in-process against the local BigQuery
 * endpoint, one `org_audit_logs` row per mutating call with the caller's request id, and a
 * change that still succeeds when the row cannot be written. How an `AuditEvent` becomes a
 * row is `test/shared/audit.auditRow.test.ts`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CENTRAL_DATASET, centralDataset, ensureTable, ORG_AUDIT_LOGS, type AuditLogRow } from '../../shared/analytics/index.js';
import { localBigQueryOptions, startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import { setLogSink } from '../../shared/log/index.js';
import { closeFunctionRuntime, closeTestDb, serveFunction, type ServedFunction } from '../helpers/tenants.js';
import { documentedFetch } from '../helpers/apiContract.js';

const adminToken = `adm_${randomBytes(24).toString('base64url')}`;
let endpoint: BigQueryEndpoint;
let bq: BigQuery;
let fn: ServedFunction;

beforeAll(async () => {
  endpoint = await startBigQueryEndpoint({ port: 0 });
  bq = new BigQuery(localBigQueryOptions(endpoint.url));
  // Set before the function module loads: it reads its configuration at import.
  process.env.FUNCTION_NAME = 'orgs';
  process.env.ADMIN_TOKEN = adminToken;
  process.env.BIGQUERY_API_ENDPOINT = endpoint.url;
  await import('../../functions/orgs/index.js');
  fn = await serveFunction('orgs');
});

afterAll(async () => {
  await fn?.close();
  await closeTestDb();
  await closeFunctionRuntime();
  await endpoint?.close();
});

describe('the orgs function writes the audit log', () => {
  interface Call {
    name: string;
    method: string;
    path: string;
    key: 'admin' | 'tenant' | 'none';
    body?: unknown;
    status: number;
    row: Partial<AuditLogRow> | undefined;
  }

  async function send(call: Pick<Call, 'method' | 'path' | 'key' | 'body'>, requestId: string, tenantKey: string): Promise<{ status: number; body: any }> {
    const auth = call.key === 'admin' ? adminToken : call.key === 'tenant' ? tenantKey : undefined;
    const res = await documentedFetch(`${fn.url}${call.path}`, {
      method: call.method,
      headers: {
        'x-request-id': requestId,
        ...(auth === undefined ? {} : { authorization: `Bearer ${auth}` }),
        ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
  }

  async function auditRows(): Promise<AuditLogRow[]> {
    const [rows] = await bq.query({
      query: `SELECT org_slug, actor, action, resource, outcome, status, error_code, request_id, function
                FROM \`${CENTRAL_DATASET}.${ORG_AUDIT_LOGS.tableId}\``,
    });
    return rows as AuditLogRow[];
  }

  it('writes one row per mutating call, with the request id the caller sent, and none for reads', async () => {
    const run = randomBytes(4).toString('hex');
    const orgSlug = `audit_${run}`;
    const onboarding = { org_slug: orgSlug, name: 'Audited', admin_email: `${orgSlug}@example.com` };
    // Onboarding comes first: it creates the central dataset the later rows go to.
    const created = await send({ method: 'POST', path: '/v1/orgs', key: 'admin', body: onboarding }, `rid-${run}-onboard`, '');
    expect(created.status).toBe(201);
    const tenantKey = created.body.api_key.key as string;
    const keyId = created.body.api_key.id as string;
    const second = await send({ method: 'POST', path: '/v1/orgs/me/api-keys', key: 'tenant' }, `rid-${run}-newkey`, tenantKey);
    const secondId = second.body.id as string;
    const unknownId = randomUUID();

    const calls: Call[] = [
      {
        name: 'revoking a key',
        method: 'DELETE',
        path: `/v1/orgs/me/api-keys/${secondId}`,
        key: 'tenant',
        status: 204,
        row: { actor: keyId, org_slug: orgSlug, action: 'DELETE /v1/orgs/me/api-keys/:id', resource: JSON.stringify({ id: secondId }), outcome: 'success', error_code: null },
      },
      {
        name: 'revoking an unknown key',
        method: 'DELETE',
        path: `/v1/orgs/me/api-keys/${unknownId}`,
        key: 'tenant',
        status: 404,
        row: { actor: keyId, org_slug: orgSlug, outcome: 'failure', error_code: 'NOT_FOUND' },
      },
      {
        // Unauthenticated traffic never reaches BigQuery: no row.
        name: 'creating a key without a key',
        method: 'POST',
        path: '/v1/orgs/me/api-keys',
        key: 'none',
        status: 401,
        row: undefined,
      },
      {
        name: 'onboarding with a tenant key',
        method: 'POST',
        path: '/v1/orgs',
        key: 'tenant',
        body: { ...onboarding, org_slug: `${orgSlug}_x` },
        status: 403,
        row: undefined,
      },
      {
        name: 'onboarding a taken slug',
        method: 'POST',
        path: '/v1/orgs',
        key: 'admin',
        body: { ...onboarding, admin_email: 'someone@else.example' },
        status: 409,
        row: { actor: 'admin', org_slug: orgSlug, resource: JSON.stringify({ org_slug: orgSlug }), error_code: 'ALREADY_EXISTS' },
      },
      { name: 'reading the profile', method: 'GET', path: '/v1/orgs/me', key: 'tenant', status: 200, row: undefined },
      { name: 'listing keys', method: 'GET', path: '/v1/orgs/me/api-keys', key: 'tenant', status: 200, row: undefined },
    ];
    for (const call of calls) {
      expect((await send(call, `rid-${run}-${calls.indexOf(call)}`, tenantKey)).status, call.name).toBe(call.status);
    }

    const rows = await auditRows();
    const byRequest = (id: string): AuditLogRow[] => rows.filter((r) => r.request_id === id);
    expect(byRequest(`rid-${run}-onboard`)).toEqual([
      expect.objectContaining({ actor: 'admin', org_slug: orgSlug, action: 'POST /v1/orgs', resource: JSON.stringify({ org_slug: orgSlug }), status: 201, function: 'orgs' }),
    ]);
    expect(byRequest(`rid-${run}-newkey`)).toEqual([
      expect.objectContaining({ actor: keyId, org_slug: orgSlug, resource: JSON.stringify({ id: secondId }), status: 201, outcome: 'success' }),
    ]);
    for (const [i, call] of calls.entries()) {
      const found = byRequest(`rid-${run}-${i}`);
      if (call.row === undefined) expect(found, call.name).toEqual([]);
      else expect(found, call.name).toEqual([expect.objectContaining({ ...call.row, status: call.status, function: 'orgs' })]);
    }
  });

  it('still answers the change with success when the audit table is missing, and logs the row with its context', async () => {
    const run = randomBytes(4).toString('hex');
    const orgSlug = `noaudit_${run}`;
    const created = await send(
      { method: 'POST', path: '/v1/orgs', key: 'admin', body: { org_slug: orgSlug, name: 'x', admin_email: `${orgSlug}@example.com` } },
      `rid-${run}-onboard`,
      '',
    );
    expect(created.status).toBe(201);
    await bq.dataset(CENTRAL_DATASET).table(ORG_AUDIT_LOGS.tableId).delete();
    const lines: string[] = [];
    const restore = setLogSink((line) => lines.push(line));
    let res: { status: number; body: any };
    try {
      res = await send({ method: 'POST', path: '/v1/orgs/me/api-keys', key: 'tenant' }, `rid-${run}-lost`, created.body.api_key.key as string);
    } finally {
      restore();
      await ensureTable(bq, CENTRAL_DATASET, ORG_AUDIT_LOGS, centralDataset().labels);
    }

    expect(res.status).toBe(201);
    expect(res.body.key).toMatch(/^cak_/);
    const logged = lines.map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.message === 'Writing the audit row failed; the call itself is unaffected');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      severity: 'ERROR',
      request_id: `rid-${run}-lost`,
      org: orgSlug,
      route: '/v1/orgs/me/api-keys',
      action: 'POST /v1/orgs/me/api-keys',
      status: 201,
      audit_row: { actor: created.body.api_key.id, org_slug: orgSlug, request_id: `rid-${run}-lost`, outcome: 'success' },
      err: { message: expect.stringContaining('Not found') },
    });
    expect(lines.join('\n')).not.toContain(res.body.key);
  });
});

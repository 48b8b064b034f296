/**
 * `shared/audit/auditRow`: how an `AuditEvent` becomes an `org_audit_logs` row — actor,
 * org, action, resource and outcome. The orgs function writing such rows to BigQuery is
 * `test/functions/orgs.audit.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import type { AuditLogRow } from '../../shared/analytics/index.js';
import { toAuditRow } from '../../shared/audit/index.js';
import type { AuditEvent } from '../../shared/http/index.js';

describe('toAuditRow', () => {
  const at = new Date('2024-05-01T12:00:00.000Z');
  const context = { functionName: 'orgs', contextOrg: undefined, adminActions: new Set(['POST /v1/orgs']), at };
  const tenant = { orgId: 'o-1', orgSlug: 'acme', plan: 'free', keyId: 'key-1' };
  const event = (over: Partial<AuditEvent>): AuditEvent => ({
    method: 'POST',
    route: '/v1/orgs/me/api-keys',
    params: {},
    principal: tenant,
    status: 201,
    code: undefined,
    requestId: 'req-1',
    ...over,
  });

  it.each<{ name: string; event: AuditEvent; contextOrg?: string; row: Partial<AuditLogRow> }>([
    {
      name: 'a tenant call: the key id acts on its own org',
      event: event({}),
      row: { actor: 'key-1', org_slug: 'acme', action: 'POST /v1/orgs/me/api-keys', resource: null, outcome: 'success', status: 201, error_code: null },
    },
    {
      name: 'a POST that created something names its id as the resource',
      event: event({ createdId: '5b0c2f1e-0000-4000-8000-000000000001' }),
      row: { action: 'POST /v1/orgs/me/api-keys', resource: '{"id":"5b0c2f1e-0000-4000-8000-000000000001"}', outcome: 'success' },
    },
    {
      name: 'path parameters, keys sorted, as the resource',
      event: event({ method: 'PUT', route: '/v1/pricing/:provider/:model', params: { provider: 'openai', model: 'gpt-4o' }, status: 200 }),
      row: { action: 'PUT /v1/pricing/:provider/:model', resource: '{"model":"gpt-4o","provider":"openai"}' },
    },
    {
      name: 'a failed tenant call: the error code',
      event: event({ method: 'DELETE', route: '/v1/orgs/me/api-keys/:id', params: { id: 'k' }, status: 404, code: 'NOT_FOUND' }),
      row: { actor: 'key-1', outcome: 'failure', status: 404, error_code: 'NOT_FOUND', resource: '{"id":"k"}' },
    },
    {
      name: 'onboarding: admin, with the org it names as org and resource',
      event: event({ route: '/v1/orgs', principal: undefined }),
      contextOrg: 'newco',
      row: { actor: 'admin', org_slug: 'newco', resource: '{"org_slug":"newco"}', outcome: 'success' },
    },
    {
      name: 'onboarding with a bad body: still admin (authentication runs first)',
      event: event({ route: '/v1/orgs', principal: undefined, status: 400, code: 'INVALID_ARGUMENT' }),
      row: { actor: 'admin', org_slug: null, resource: null, error_code: 'INVALID_ARGUMENT' },
    },
    {
      name: 'an admin route refused to a tenant key: anonymous',
      event: event({ route: '/v1/orgs', principal: undefined, status: 403, code: 'PERMISSION_DENIED' }),
      row: { actor: 'anonymous', org_slug: null },
    },
    {
      name: 'a tenant route without a valid key: anonymous, no org',
      event: event({ principal: undefined, status: 401, code: 'UNAUTHENTICATED' }),
      row: { actor: 'anonymous', org_slug: null, outcome: 'failure' },
    },
  ])('records $name', ({ event: e, contextOrg, row }) => {
    const result = toAuditRow(e, { ...context, contextOrg });

    expect(result).toMatchObject({ timestamp: '2024-05-01T12:00:00.000Z', request_id: 'req-1', function: 'orgs', ...row });
  });
});

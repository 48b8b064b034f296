import { authenticateTenant } from '../../shared/auth/index.js';
import { credentialAad, getKek, sealSecret } from '../../shared/crypto/index.js';
import { NotFoundError } from '../../shared/errors/index.js';
import { noQuery, route, withUtf8Body, type AnyRoute } from '../../shared/http/index.js';
import { log } from '../../shared/log/index.js';
import { checkCredential } from './providers.js';
import { integrationList, integrationView, providerParams, putBody } from './schema.js';
import { deleteIntegration, fingerprintOf, listIntegrations, upsertIntegration, type IntegrationStatus } from './store.js';

const tenant = withUtf8Body(authenticateTenant);

/** The integrations routes: store (optionally validate), list, delete. Never the credential out. */
export function integrationRoutes(): AnyRoute[] {
  return [
    route({
      method: 'PUT',
      path: '/v1/integrations/:provider',
      summary: 'Store a provider credential, optionally validating it with the provider',
      description: 'Encrypted at rest (AES-256-GCM, per-record data key wrapped by a key-encryption key). Validation calls the provider under the integration tier; a check that cannot conclude stores nothing.',
      auth: tenant,
      params: providerParams,
      query: noQuery,
      body: putBody,
      responses: { 200: { description: 'The integration (never the credential)', body: integrationView } },
      handler: async ({ auth, params, body }) => {
        const { provider } = params;
        // Validate first: a check that cannot conclude (timeout, provider down) stores nothing.
        let status: IntegrationStatus = 'stored';
        if (body.validate === true) status = await checkCredential(provider, body.credential);
        const sealed = await sealSecret(body.credential, credentialAad(auth.orgId, provider), await getKek());
        const view = await upsertIntegration(auth.orgId, provider, {
          status,
          fingerprint: fingerprintOf(body.credential),
          sealed,
          validated: body.validate === true,
        });
        // Provider, status and key id only: the credential is never a log field.
        log.info('Stored an integration credential', { provider, status, kek_id: sealed.kekId });
        return { status: 200, body: view };
      },
    }),
    route({
      method: 'GET',
      path: '/v1/integrations',
      summary: 'List the org’s integrations',
      auth: tenant,
      query: noQuery,
      responses: { 200: { description: 'The integrations (never the credentials)', body: integrationList } },
      handler: async ({ auth }) => ({ body: { items: await listIntegrations(auth.orgId) } }),
    }),
    route({
      method: 'DELETE',
      path: '/v1/integrations/:provider',
      summary: 'Delete a provider credential',
      auth: tenant,
      params: providerParams,
      query: noQuery,
      responses: { 204: { description: 'Deleted' } },
      errors: ['NOT_FOUND'],
      handler: async ({ auth, params }) => {
        if (!(await deleteIntegration(auth.orgId, params.provider))) throw new NotFoundError('No integration for this provider');
        return { status: 204 };
      },
    }),
  ];
}

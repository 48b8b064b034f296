import { http } from '@google-cloud/functions-framework';
import { createAuditHook, withAuditedOrg } from '../../shared/audit/index.js';
import { flushLastUsedIfDue } from '../../shared/auth/index.js';
import { runtimeConfig } from '../../shared/config/index.js';
import { createHttpHandler } from '../../shared/http/index.js';
import { parseOrgsConfig } from './config.js';
import { setAnalyticsProvisioner } from './provision.js';
import { createBigQueryProvisioner } from './provisionBigQuery.js';
import { orgRoutes } from './routes.js';

// Parsed at load: a missing ADMIN_TOKEN (or any bad variable) stops the function from starting.
const config = parseOrgsConfig();

// Onboarding creates the org's BigQuery dataset and tables; the provisioner reads the
// BigQuery settings now, so without them the function refuses to start too.
setAnalyticsProvisioner(createBigQueryProvisioner());

/** Admin actions, and the body field naming the org they act on (for logs and the audit row). */
const ADMIN_ACTIONS = { 'POST /v1/orgs': 'org_slug' } as const;

http(
  'orgs',
  createHttpHandler({
    name: runtimeConfig().functionName,
    routes: withAuditedOrg(orgRoutes(config.ADMIN_TOKEN), ADMIN_ACTIONS),
    finalize: flushLastUsedIfDue,
    audit: createAuditHook({ adminActions: Object.keys(ADMIN_ACTIONS) }),
  }),
);

import { createAuditHook, withAuditedOrg } from '../../shared/audit/index.js';
import { defineHttpFunction } from '../../shared/function/index.js';
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

defineHttpFunction('orgs', {
  routes: withAuditedOrg(orgRoutes(config.ADMIN_TOKEN), ADMIN_ACTIONS),
  audit: createAuditHook({ adminActions: Object.keys(ADMIN_ACTIONS) }),
});

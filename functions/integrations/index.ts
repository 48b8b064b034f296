import { http } from '@google-cloud/functions-framework';
import { createAuditHook } from '../../shared/audit/index.js';
import { flushLastUsedIfDue } from '../../shared/auth/index.js';
import { runtimeConfig } from '../../shared/config/index.js';
import { parseKekConfig } from '../../shared/crypto/index.js';
import { createHttpHandler } from '../../shared/http/index.js';
import { integrationRoutes } from './routes.js';

// Checked at load: without KMS_KEY_NAME or KEK_FILE the function refuses to start (it
// would otherwise accept credentials it cannot protect). The key itself is built on first
// use through the lazy client cache.
parseKekConfig();

http(
  'integrations',
  createHttpHandler({
    name: runtimeConfig().functionName,
    finalize: flushLastUsedIfDue,
    audit: createAuditHook(),
    routes: integrationRoutes(),
  }),
);

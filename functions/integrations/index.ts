import { parseKekConfig } from '../../shared/crypto/index.js';
import { createAuditHook } from '../../shared/audit/index.js';
import { defineHttpFunction } from '../../shared/function/index.js';
import { integrationRoutes } from './routes.js';

// Checked at load: without KMS_KEY_NAME or KEK_FILE the function refuses to start (it
// would otherwise accept credentials it cannot protect). The key itself is built on first
// use through the lazy client cache.
parseKekConfig();

defineHttpFunction('integrations', { routes: integrationRoutes(), audit: createAuditHook() });

import { createAuditHook } from '../../shared/audit/index.js';
import { defineHttpFunction } from '../../shared/function/index.js';
import { parseWebhookConfig } from '../../shared/webhooks/index.js';
import { budgetRoutes } from './routes.js';

// Parsed at load: a bad setting stops the function before its first request.
const { policy } = parseWebhookConfig();

defineHttpFunction('budgets', { routes: budgetRoutes(policy), audit: createAuditHook() });

import { createAuditHook } from '../../shared/audit/index.js';
import { defineHttpFunction } from '../../shared/function/index.js';
import { subscriptionRoutes } from './routes.js';

defineHttpFunction('subscriptions', { routes: subscriptionRoutes(), audit: createAuditHook() });

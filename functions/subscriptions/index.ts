import { http } from '@google-cloud/functions-framework';
import { createAuditHook } from '../../shared/audit/index.js';
import { flushLastUsedIfDue } from '../../shared/auth/index.js';
import { runtimeConfig } from '../../shared/config/index.js';
import { createHttpHandler } from '../../shared/http/index.js';
import { subscriptionRoutes } from './routes.js';

http(
  'subscriptions',
  createHttpHandler({
    name: runtimeConfig().functionName,
    finalize: flushLastUsedIfDue,
    audit: createAuditHook(),
    routes: subscriptionRoutes(),
  }),
);

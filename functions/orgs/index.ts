import { http } from '@google-cloud/functions-framework';
import { flushLastUsedIfDue } from '../../shared/auth/index.js';
import { runtimeConfig } from '../../shared/config/index.js';
import { createHttpHandler } from '../../shared/http/index.js';
import { parseOrgsConfig } from './config.js';
import { orgRoutes } from './routes.js';

// Parsed at load: a missing ADMIN_TOKEN (or any bad variable) stops the function from starting.
const config = parseOrgsConfig();

http(
  'orgs',
  createHttpHandler({
    name: runtimeConfig().functionName,
    routes: orgRoutes(config.ADMIN_TOKEN),
    finalize: flushLastUsedIfDue,
  }),
);

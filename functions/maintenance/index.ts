import * as z from 'zod';
import { defineEventFunction } from '../../shared/function/index.js';
import { parseMaintenanceConfig } from './config.js';
import { runMaintenancePass } from './pass.js';

// Parsed at load: a bad setting stops the function before its first tick.
const config = parseMaintenanceConfig();

/** Cloud Scheduler sends `{}`; any JSON object is a tick. */
const tick = z.looseObject({});

defineEventFunction('maintenance', {
  schema: tick,
  // A tick older than a pass interval is stale: the next one is due anyway.
  maxAgeMs: 5 * 60_000,
  handle: async (_tick, context) => {
    await runMaintenancePass(context, config);
  },
});

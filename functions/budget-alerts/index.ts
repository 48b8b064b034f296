import { usageUpdatedMessage } from '../../shared/budgets/index.js';
import { defineEventFunction } from '../../shared/function/index.js';
import { addLogContext, log } from '../../shared/log/index.js';
import { parseAlertsConfig } from './config.js';
import { evaluateOrg } from './evaluate.js';
import { fanOutDailyPass } from './fanOut.js';

// Parsed at load: a bad setting stops the function before its first message.
const config = parseAlertsConfig();

/*
 * Evaluates an org's budgets after each run that changed its data (`usage-updated` from the
 * worker) and, once a day, every org's (Cloud Scheduler's empty message fans out one message
 * per org). Raised alerts are delivered by `budget-alert-delivery`.
 */
defineEventFunction('budget-alerts', {
  schema: usageUpdatedMessage,
  // An evaluation reads the spend as it is when it runs: an old message is as good as a new one, but one older than the daily pass is redundant.
  maxAgeMs: 86_400_000,
  handle: async (message) => {
    if (message.org_slug === undefined) {
      await fanOutDailyPass();
      return;
    }
    addLogContext({ org: message.org_slug });
    const evaluation = await evaluateOrg(message.org_slug, config);
    log.info('Budgets evaluated', { ...evaluation, run_id: message.run_id, dates: message.dates });
  },
});

import { alertDeliveryMessage } from '../../shared/budgets/index.js';
import { defineEventFunction } from '../../shared/function/index.js';
import { parseDeliveryConfig } from './config.js';
import { deliverAlert } from './deliver.js';

// Parsed at load: a bad setting stops the function before its first message.
const config = parseDeliveryConfig();

/*
 * Delivers raised budget alerts, one attempt per `budget-alert-deliveries` message: its own
 * function, because a Cloud Run function has one trigger and delivery needs its own
 * subscription — the retry backoff between attempts and the dead-letter topic after the last.
 */
defineEventFunction('budget-alert-delivery', {
  schema: alertDeliveryMessage,
  handle: (message, context) => deliverAlert(message, context, config),
});

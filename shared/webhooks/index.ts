/**
 * Outgoing webhooks that cannot reach inside: URLs checked for form and resolved addresses
 * when saved, every delivery connected only to a public address (checked on the address
 * connected to), no redirects, signed with the org's secret.
 */
export { isPublicAddress } from './publicAddress.js';
export { checkWebhookUrl, MAX_WEBHOOK_URL_LENGTH, parseWebhookUrl, WebhookUrlError, type WebhookPolicy, type WebhookTarget } from './webhookUrl.js';
export { postWebhook, type PostOutcome } from './postWebhook.js';
export { parseWebhookConfig, type WebhookConfig } from './config.js';
export { SIGNATURE_HEADER, signatureHeader } from './signature.js';

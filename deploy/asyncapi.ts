import path from 'node:path';
import { jsonSchemaOf, type JsonSchema } from '../shared/openapi/index.js';
import { PIPELINE_RUNS_TOPIC } from '../shared/pipelines/index.js';
import { loadEventFunctions } from './loadFunctions.js';
import { REPO_ROOT } from './paths.js';
import { alertWebhookHeaders, alertWebhookPayload } from './pendingMessages.js';

/** The committed file `npm run openapi` also writes: the messages the API does not answer but sends. */
export const ASYNCAPI_PATH = path.join(REPO_ROOT, 'asyncapi.json');

/** What publishes to a topic, for a reader (who consumes it comes from the manifest). */
const PUBLISHERS: Readonly<Record<string, string>> = {
  [PIPELINE_RUNS_TOPIC]: 'The `pipelines` function (a trigger) and `maintenance` (its outbox sweep)',
  'maintenance-ticks': 'Cloud Scheduler (`{}` every 5 minutes)',
  'usage-updated': 'The `pipeline-worker` function after a run that loaded data, and Cloud Scheduler (`{}` once a day)',
  'budget-alert-deliveries': 'The `budget-alerts` function, one message per raised alert',
};

interface Channel {
  address: string;
  description: string;
  messages: Record<string, { name: string; contentType: string; payload: JsonSchema; headers?: JsonSchema; description?: string }>;
  bindings?: Record<string, unknown>;
}

/**
 * The AsyncAPI 3.0 document of CloudAct's messages: each Pub/Sub topic a function of the
 * manifest consumes, with the payload schema that function parses (its own zod schema),
 * and the alert webhook CloudAct delivers, with its signature header (`pendingMessages.ts`).
 */
export async function messagesDocument(): Promise<Record<string, unknown>> {
  const channels: Record<string, Channel> = {};
  const operations: Record<string, unknown> = {};
  for (const fn of await loadEventFunctions()) {
    const topic = fn.trigger.topic;
    channels[topic] = {
      address: topic,
      description: `Pub/Sub topic. Published by: ${PUBLISHERS[topic] ?? 'see the README'}. Consumed by the \`${fn.target}\` function${
        fn.trigger.deadLetterTopic === undefined ? '' : `; dead-lettered to \`${fn.trigger.deadLetterTopic}\` after ${fn.trigger.maxDeliveryAttempts ?? '?'} deliveries`
      }. The message data is JSON; attributes may carry a trace context.`,
      messages: { [messageName(topic)]: { name: messageName(topic), contentType: 'application/json', payload: jsonSchemaOf(fn.schema, 'input') } },
    };
    operations[`${fn.target}Receives`] = { action: 'receive', channel: { $ref: `#/channels/${topic}` }, summary: `\`${fn.target}\` handles each message` };
  }
  channels.alertWebhook = {
    address: '{webhook_url}',
    description:
      'A budget alert, delivered as `POST webhook_url` (https, public addresses only, no redirects followed). A non-2xx answer or a 5 s timeout is retried with backoff and dead-lettered after the last attempt; the answer’s body is ignored.',
    messages: {
      budgetAlert: {
        name: 'budgetAlert',
        contentType: 'application/json',
        headers: jsonSchemaOf(alertWebhookHeaders, 'output'),
        payload: jsonSchemaOf(alertWebhookPayload, 'output'),
      },
    },
    bindings: { http: { method: 'POST' } },
  };
  operations.deliverAlert = { action: 'send', channel: { $ref: '#/channels/alertWebhook' }, summary: 'CloudAct delivers a budget alert' };
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'CloudAct messages',
      version: 'v1',
      description: `The Pub/Sub messages between CloudAct's functions and the webhooks it delivers. Generated with openapi.json (\`npm run openapi\`). The \`${PIPELINE_RUNS_TOPIC}\` payload is \`shared/pipelines\`' own schema.`,
    },
    channels,
    operations,
  };
}

/** `pipeline-runs` → `pipelineRuns`. */
function messageName(topic: string): string {
  return topic.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

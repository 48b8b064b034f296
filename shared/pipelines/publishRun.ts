import { getPublisher } from '../pubsub/index.js';
import { PIPELINE_RUNS_TOPIC, type PipelineRunMessage } from './message.js';

/**
 * Hands a run to the `pipeline-runs` topic (the pipelines function on trigger, maintenance
 * when it re-publishes). Publishing the same run twice is harmless: the worker is
 * idempotent per `run_id`. Resolves with the message id; fails as a retryable
 * `UNAVAILABLE` / `DEADLINE_EXCEEDED` / `INTERNAL` within the caller's budget.
 */
export async function publishRun(message: PipelineRunMessage, signal?: AbortSignal): Promise<string> {
  const publisher = await getPublisher();
  return publisher.publish(PIPELINE_RUNS_TOPIC, message, { run_id: message.run_id, org_slug: message.org_slug }, { signal });
}

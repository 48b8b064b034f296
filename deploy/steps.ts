import { eventTriggerScript, schedulerJobScript, topicsScript } from './eventSetup.js';
import { deployArgs } from './gcloud.js';
import type { Manifest } from './manifest.js';

/** One step of a deploy: a gcloud command, or a shell script for what needs lookups. */
export interface DeployStep {
  id: string;
  /** Steps this one needs (Cloud Build `waitFor`; the printed plan simply keeps this order). */
  waitFor: string[];
  run: { gcloud: string[] } | { script: string };
}

/**
 * Everything a deploy does, in an order that works when run one after another: topics,
 * then every function (event functions need their topic), then each event function's
 * subscription policy, then the scheduler jobs. `build` is the bundle step before them.
 */
export function deploySteps(manifest: Manifest, projectId?: string): DeployStep[] {
  const hasTopics = manifest.topics.length > 0;
  const steps: DeployStep[] = [];
  if (hasTopics) steps.push({ id: 'pubsub-topics', waitFor: ['build'], run: { script: topicsScript(manifest, projectId) } });
  for (const fn of manifest.functions) {
    steps.push({
      id: `deploy-${fn.name}`,
      // Deploys are independent of one another; each waits only for the bundles (and its topic).
      waitFor: fn.trigger.type === 'topic' ? ['build', 'pubsub-topics'] : ['build'],
      run: { gcloud: deployArgs(fn.name, { manifest, projectId }) },
    });
  }
  for (const fn of manifest.functions) {
    if (fn.trigger.type !== 'topic') continue;
    steps.push({ id: `subscription-${fn.name}`, waitFor: [`deploy-${fn.name}`], run: { script: eventTriggerScript(fn, manifest, projectId) } });
  }
  for (const job of manifest.schedulerJobs) {
    steps.push({ id: `scheduler-${job.name}`, waitFor: ['pubsub-topics'], run: { script: schedulerJobScript(job, projectId) } });
  }
  return steps;
}

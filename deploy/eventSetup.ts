import { resolveProject, serviceAccountEmail, shellQuote } from './gcloud.js';
import { PROJECT_PLACEHOLDER, type FunctionSpec, type Manifest, type SchedulerJob } from './manifest.js';

/*
 * Shell scripts for what `gcloud functions deploy` does not do itself. Each is idempotent
 * (deploys run again and again) and runs the same in the printed plan and in Cloud Build
 * (`bash -c`). `${PROJECT_ID}` stays live for the shell or Cloud Build unless a project
 * is given; every other `$` is a shell variable of the script.
 */

/** One shell command line from arguments, each quoted for the shell. */
function sh(...args: string[]): string {
  return args.map(shellQuote).join(' ');
}

/** The project number (for the Pub/Sub service agent's address), looked up at run time. */
function projectNumberLine(project: string): string {
  return `PROJECT_NUMBER="$(${sh('gcloud', 'projects', 'describe', project, '--format=value(projectNumber)')})"`;
}

/** Pub/Sub's own service agent: it forwards dead letters, so it must publish to the dead-letter topic and read the subscription. */
const PUBSUB_AGENT = 'serviceAccount:service-$PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com';

/**
 * Creates every topic of the manifest that does not exist yet, and lets the functions'
 * runtime service account publish to it (every function runs as that one account;
 * `pipelines` and `maintenance` publish runs).
 */
export function topicsScript(manifest: Manifest, projectId?: string): string {
  const project = resolveProject(PROJECT_PLACEHOLDER, projectId);
  const runtime = `--member=serviceAccount:${serviceAccountEmail(manifest.cloud.serviceAccount, project)}`;
  return [
    'set -eu',
    ...manifest.topics.flatMap((topic) => [
      `${sh('gcloud', 'pubsub', 'topics', 'describe', topic, `--project=${project}`)} >/dev/null 2>&1 || ${sh('gcloud', 'pubsub', 'topics', 'create', topic, `--project=${project}`)}`,
      `${sh('gcloud', 'pubsub', 'topics', 'add-iam-policy-binding', topic, `--project=${project}`, runtime, '--role=roles/pubsub.publisher')} >/dev/null`,
    ]),
  ].join('\n');
}

/**
 * After an event function is deployed: lets its trigger service account invoke it, and
 * sets the retry backoff, ack deadline and dead-letter policy (or clears it) on the push
 * subscription Eventarc created for it — whose name Eventarc chooses, so it is looked up
 * through the function's trigger. A redeploy may recreate the subscription; this step
 * runs after every deploy and sets the policy again.
 */
export function eventTriggerScript(fn: FunctionSpec, manifest: Manifest, projectId?: string): string {
  if (fn.trigger.type !== 'topic') throw new Error(`${fn.name} is not triggered by a topic`);
  const t = fn.trigger;
  const project = resolveProject(PROJECT_PLACEHOLDER, projectId);
  const region = `--region=${fn.region}`;
  const invoker = `serviceAccount:${serviceAccountEmail(t.serviceAccount ?? manifest.cloud.serviceAccount, project)}`;
  const deadLetterTopic = t.deadLetterTopic === undefined ? undefined : `projects/${project}/topics/${t.deadLetterTopic}`;
  const lines = [
    'set -eu',
    `${sh('gcloud', 'functions', 'add-invoker-policy-binding', fn.name, region, `--project=${project}`, `--member=${invoker}`)} >/dev/null`,
    `TRIGGER="$(${sh('gcloud', 'functions', 'describe', fn.name, '--gen2', region, `--project=${project}`, '--format=value(eventTrigger.trigger)')})"`,
    `SUBSCRIPTION="$(${sh('gcloud', 'eventarc', 'triggers', 'describe')} "$TRIGGER" ${sh(`--location=${fn.region}`, `--project=${project}`, '--format=value(transport.pubsub.subscription)')})"`,
    `${sh('gcloud', 'pubsub', 'subscriptions', 'update')} "$SUBSCRIPTION" ${sh(
      `--project=${project}`,
      `--ack-deadline=${t.ackDeadlineSeconds}`,
      `--min-retry-delay=${t.minBackoffSeconds}s`,
      `--max-retry-delay=${t.maxBackoffSeconds}s`,
      ...(deadLetterTopic === undefined
        ? ['--clear-dead-letter-policy']
        : [`--dead-letter-topic=${deadLetterTopic}`, `--max-delivery-attempts=${t.maxDeliveryAttempts}`]),
    )}`,
  ];
  if (t.deadLetterTopic !== undefined) {
    lines.push(
      projectNumberLine(project),
      `${sh('gcloud', 'pubsub', 'topics', 'add-iam-policy-binding', t.deadLetterTopic, `--project=${project}`)} --member="${PUBSUB_AGENT}" --role=roles/pubsub.publisher >/dev/null`,
      `${sh('gcloud', 'pubsub', 'subscriptions', 'add-iam-policy-binding')} "$SUBSCRIPTION" ${sh(`--project=${project}`)} --member="${PUBSUB_AGENT}" --role=roles/pubsub.subscriber >/dev/null`,
    );
  }
  return lines.join('\n');
}

/** Creates the Cloud Scheduler job, or updates it to the manifest when it exists. */
export function schedulerJobScript(job: SchedulerJob, projectId?: string): string {
  const project = resolveProject(PROJECT_PLACEHOLDER, projectId);
  const where = [`--location=${job.region}`, `--project=${project}`];
  const settings = [
    ...where,
    `--schedule=${job.schedule}`,
    `--time-zone=${job.timeZone}`,
    `--topic=projects/${project}/topics/${job.topic}`,
    `--message-body=${job.messageBody}`,
  ];
  return [
    'set -eu',
    `if ${sh('gcloud', 'scheduler', 'jobs', 'describe', job.name, ...where)} >/dev/null 2>&1; then`,
    `  ${sh('gcloud', 'scheduler', 'jobs', 'update', 'pubsub', job.name, ...settings)}`,
    'else',
    `  ${sh('gcloud', 'scheduler', 'jobs', 'create', 'pubsub', job.name, ...settings)}`,
    'fi',
  ].join('\n');
}

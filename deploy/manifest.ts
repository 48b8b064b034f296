import {
  ALERT_DELIVERIES_DEAD_LETTER_TOPIC,
  ALERT_DELIVERIES_TOPIC,
  USAGE_UPDATED_DEAD_LETTER_TOPIC,
  USAGE_UPDATED_TOPIC,
} from '../shared/budgets/index.js';
import { MAINTENANCE_TICKS_TOPIC, PIPELINE_RUNS_DEAD_LETTER_TOPIC, PIPELINE_RUNS_TOPIC } from '../shared/pipelines/index.js';
import { parseManifest, PROJECT_PLACEHOLDER, type FunctionSpec, type Manifest, type ManifestInput } from './manifestSchema.js';

export { ManifestError } from './errors.js';
export {
  CPU_VALUES,
  MAX_ACK_DEADLINE_SECONDS,
  MEMORY_SIZES,
  PROJECT_PLACEHOLDER,
  LOCAL_ONLY_ENV,
  RESERVED_ENV,
  manifestSchema,
  parseManifest,
  type FunctionSpec,
  type Manifest,
  type ManifestInput,
  type SchedulerJob,
  type TopicTrigger,
  type Trigger,
} from './manifestSchema.js';

/**
 * How the numbers were chosen (`npm run check:deploy` proves they fit):
 *
 * - Connections: db-f1-micro allows 25, Cloud SQL keeps 3, we keep 2 for migrations and
 *   psql, leaving 20 for functions. Σ(max instances × pool) = 20 over twelve functions, none
 *   spare; the three pipeline functions took their 5 from the HTTP functions' max
 *   instances (3 → 2), and the three budget functions (1 instance each: budgets are read
 *   rarely, and alerts are evaluated once per run and delivered one at a time) took 2 from
 *   orgs and integrations (2 → 1: onboarding and credential changes are rare, and their
 *   requests are short). Pools are 1 because our queries are millisecond-short (one
 *   connection serves hundreds of requests a second); quota, read on every pipeline page,
 *   gets 2 so one slow query does not queue every other request behind it. Scaling out is capped by the database, not
 *   by traffic: raising a max means lowering another or moving up a Cloud SQL tier.
 * - Timeouts: each is the longest tier the function uses + the safety margin, rounded up
 *   with room for start-up (user 30 s → 60 s; integration 60 s → 90 s; batch 300 s → 320 s).
 * - CPU: concurrency above 1 needs a whole vCPU on Cloud Run, so every function has 1 vCPU
 *   and 512Mi; concurrency stays well below what a 1–2 connection pool can serve, so a
 *   burst queues in Cloud Run (which adds instances) rather than in our pool.
 * - Min instances 0: cold starts are accepted on this budget; an idle instance would also
 *   pin connections the busy functions could use.
 */
/**
 * Deliveries of a run message before Pub/Sub dead-letters it — and the attempts the worker
 * and maintenance give a run (`PIPELINE_MAX_ATTEMPTS`), so the delivery that fails a run
 * for good is the one Pub/Sub forwards to the dead-letter topic.
 */
const PIPELINE_MAX_ATTEMPTS = 5;
/**
 * Delivery attempts of an alert before it is dead-lettered — the delivery subscription's
 * `maxDeliveryAttempts` and the function's `ALERT_MAX_DELIVERY_ATTEMPTS`, one number.
 */
const ALERT_DELIVERY_ATTEMPTS = 5;

const MANIFEST_INPUT = {
  cloudSql: {
    tier: 'db-f1-micro',
    maxConnections: 25,
    reserved: 3,
    instance: 'cloudact-pg',
    region: 'europe-west1',
    database: 'cloudact',
    user: 'cloudact_fn',
    // Public IP through the Cloud SQL connector: mTLS and IAM-authorised without any
    // authorised networks, and no Serverless VPC Access connector to pay for.
    ipType: 'PUBLIC',
    passwordSecret: 'cloudact-db-password:latest',
  },
  adminHeadroom: 2,
  env: {
    // Bundles ship with source maps; stack traces should point at the TypeScript.
    // The young generation is capped at 3 × 4 MB: V8 grows it to 3 × 16 MB under a burst of
    // short-lived objects (a body sent as one-byte chunks makes one Buffer per byte) and keeps
    // it, +30 MB of RSS an attacker buys with one request; at 4 MB a series of such floods
    // grows RSS by ~5 MB (test/fault/hostileBodies.test.ts).
    NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=4',
  },
  cloud: {
    serviceAccount: 'cloudact-functions',
    adminTokenSecret: 'cloudact-admin-token:latest',
    env: {
      GOOGLE_CLOUD_PROJECT: PROJECT_PLACEHOLDER,
    },
    secrets: {
      // Every function signs its page cursors with the same key; `latest` is read when an
      // instance starts, so a rotated secret reaches all functions as instances recycle.
      CURSOR_SECRET: 'cloudact-cursor-secret:latest',
    },
  },
  // Pipelines: `pipelines` publishes runs, `pipeline-worker` consumes them and dead-letters
  // what keeps failing; Cloud Scheduler ticks `maintenance` every 5 minutes (API.md).
  // The names the functions publish to and consume from, so the two cannot disagree.
  // Budgets: the worker publishes `usage-updated` after each run, Cloud Scheduler once a day
  // (an empty message: every org with budgets); raised alerts go out on their own topic.
  topics: [
    PIPELINE_RUNS_TOPIC,
    PIPELINE_RUNS_DEAD_LETTER_TOPIC,
    MAINTENANCE_TICKS_TOPIC,
    USAGE_UPDATED_TOPIC,
    USAGE_UPDATED_DEAD_LETTER_TOPIC,
    ALERT_DELIVERIES_TOPIC,
    ALERT_DELIVERIES_DEAD_LETTER_TOPIC,
  ],
  schedulerJobs: [
    { name: 'maintenance-tick', schedule: '*/5 * * * *', timeZone: 'UTC', topic: MAINTENANCE_TICKS_TOPIC, messageBody: '{}' },
    // After midnight UTC, once yesterday's runs had time to load (pipelines default to yesterday).
    { name: 'budget-evaluation-daily', schedule: '30 6 * * *', timeZone: 'UTC', topic: USAGE_UPDATED_TOPIC, messageBody: '{}' },
  ],
  functions: [
    {
      name: 'orgs',
      entryPoint: 'orgs',
      source: 'functions/orgs',
      trigger: { type: 'http' },
      memory: '512Mi',
      cpu: 1,
      // Onboarding provisions BigQuery under the batch tier (300 s) + margin.
      timeoutSeconds: 320,
      minInstances: 0,
      maxInstances: 1,
      // Onboarding is rare and heavy; few at once per instance.
      concurrency: 10,
      dbPoolMax: 1,
      tiers: ['auth', 'user', 'batch'],
      needsAdminToken: true,
    },
    {
      name: 'quota',
      entryPoint: 'quota',
      source: 'functions/quota',
      trigger: { type: 'http' },
      memory: '512Mi',
      cpu: 1,
      timeoutSeconds: 60,
      minInstances: 0,
      maxInstances: 2,
      concurrency: 40,
      dbPoolMax: 2,
      tiers: ['auth', 'user'],
    },
    {
      name: 'pricing',
      entryPoint: 'pricing',
      source: 'functions/pricing',
      trigger: { type: 'http' },
      memory: '512Mi',
      cpu: 1,
      timeoutSeconds: 60,
      minInstances: 0,
      maxInstances: 2,
      // Reads are mostly served from the per-instance cache.
      concurrency: 40,
      dbPoolMax: 1,
      tiers: ['auth', 'user'],
    },
    {
      name: 'subscriptions',
      entryPoint: 'subscriptions',
      source: 'functions/subscriptions',
      trigger: { type: 'http' },
      memory: '512Mi',
      cpu: 1,
      // Bulk imports run under the batch tier.
      timeoutSeconds: 320,
      minInstances: 0,
      maxInstances: 2,
      concurrency: 20,
      dbPoolMax: 1,
      tiers: ['auth', 'user', 'batch'],
    },
    {
      name: 'integrations',
      entryPoint: 'integrations',
      source: 'functions/integrations',
      trigger: { type: 'http' },
      memory: '512Mi',
      cpu: 1,
      // Provider validation runs under the integration tier (60 s) + margin.
      timeoutSeconds: 90,
      minInstances: 0,
      maxInstances: 1,
      concurrency: 20,
      dbPoolMax: 1,
      tiers: ['auth', 'user', 'integration'],
      cloudEnv: {
        KMS_KEY_NAME: `projects/${PROJECT_PLACEHOLDER}/locations/europe-west1/keyRings/cloudact/cryptoKeys/integrations-kek`,
      },
    },
    {
      name: 'costs',
      entryPoint: 'costs',
      source: 'functions/costs',
      trigger: { type: 'http' },
      memory: '512Mi',
      cpu: 1,
      timeoutSeconds: 60,
      minInstances: 0,
      maxInstances: 2,
      // Requests wait on BigQuery, not on PostgreSQL (used for auth only).
      concurrency: 20,
      dbPoolMax: 1,
      tiers: ['auth', 'user'],
    },
    {
      name: 'pipelines',
      entryPoint: 'pipelines',
      source: 'functions/pipelines',
      trigger: { type: 'http' },
      memory: '512Mi',
      cpu: 1,
      timeoutSeconds: 60,
      minInstances: 0,
      maxInstances: 2,
      concurrency: 20,
      dbPoolMax: 1,
      tiers: ['auth', 'user'],
    },
    {
      name: 'pipeline-worker',
      entryPoint: 'pipeline-worker',
      source: 'functions/pipeline-worker',
      trigger: {
        type: 'topic',
        topic: PIPELINE_RUNS_TOPIC,
        retry: true,
        deadLetterTopic: PIPELINE_RUNS_DEAD_LETTER_TOPIC,
        maxDeliveryAttempts: PIPELINE_MAX_ATTEMPTS,
        minBackoffSeconds: 10,
        maxBackoffSeconds: 300,
        // Longer than the function may run, so Pub/Sub never redelivers a live delivery.
        ackDeadlineSeconds: 600,
      },
      memory: '1Gi',
      cpu: 1,
      // Pull (integration tier) then load (batch tier, 300 s) + margin; ≤ 540 s for events.
      timeoutSeconds: 320,
      minInstances: 0,
      maxInstances: 2,
      // Runs wait on providers and BigQuery, not on the pool (claims and records are short).
      concurrency: 4,
      dbPoolMax: 1,
      tiers: ['user', 'integration', 'batch'],
      env: { PIPELINE_MAX_ATTEMPTS: String(PIPELINE_MAX_ATTEMPTS) },
      cloudEnv: {
        KMS_KEY_NAME: `projects/${PROJECT_PLACEHOLDER}/locations/europe-west1/keyRings/cloudact/cryptoKeys/integrations-kek`,
      },
    },
    {
      name: 'maintenance',
      entryPoint: 'maintenance',
      source: 'functions/maintenance',
      // A failed tick is not retried: the next one comes 5 minutes later.
      trigger: { type: 'topic', topic: MAINTENANCE_TICKS_TOPIC, retry: false, ackDeadlineSeconds: 120 },
      memory: '512Mi',
      cpu: 1,
      timeoutSeconds: 60,
      minInstances: 0,
      // One pass at a time (an advisory lock makes overlapping passes idle anyway).
      maxInstances: 1,
      concurrency: 1,
      dbPoolMax: 1,
      tiers: ['user'],
      env: { PIPELINE_MAX_ATTEMPTS: String(PIPELINE_MAX_ATTEMPTS) },
    },
    {
      name: 'budgets',
      entryPoint: 'budgets',
      source: 'functions/budgets',
      trigger: { type: 'http' },
      memory: '512Mi',
      cpu: 1,
      // Status reads BigQuery under the user tier (30 s) + margin.
      timeoutSeconds: 60,
      minInstances: 0,
      maxInstances: 1,
      concurrency: 20,
      dbPoolMax: 1,
      tiers: ['auth', 'user'],
      cloudEnv: {
        KMS_KEY_NAME: `projects/${PROJECT_PLACEHOLDER}/locations/europe-west1/keyRings/cloudact/cryptoKeys/integrations-kek`,
      },
    },
    {
      name: 'budget-alerts',
      entryPoint: 'budget-alerts',
      source: 'functions/budget-alerts',
      trigger: {
        type: 'topic',
        topic: USAGE_UPDATED_TOPIC,
        retry: true,
        deadLetterTopic: USAGE_UPDATED_DEAD_LETTER_TOPIC,
        maxDeliveryAttempts: 5,
        minBackoffSeconds: 10,
        maxBackoffSeconds: 300,
        ackDeadlineSeconds: 120,
      },
      memory: '512Mi',
      cpu: 1,
      // One org's spend window from BigQuery (user tier, 30 s) + margin.
      timeoutSeconds: 60,
      minInstances: 0,
      maxInstances: 1,
      concurrency: 4,
      dbPoolMax: 1,
      tiers: ['user'],
    },
    {
      name: 'budget-alert-delivery',
      entryPoint: 'budget-alert-delivery',
      source: 'functions/budget-alert-delivery',
      trigger: {
        type: 'topic',
        topic: ALERT_DELIVERIES_TOPIC,
        retry: true,
        deadLetterTopic: ALERT_DELIVERIES_DEAD_LETTER_TOPIC,
        maxDeliveryAttempts: ALERT_DELIVERY_ATTEMPTS,
        // The backoff between attempts (API.md): 10 s, growing to 10 min.
        minBackoffSeconds: 10,
        maxBackoffSeconds: 600,
        ackDeadlineSeconds: 60,
      },
      memory: '512Mi',
      cpu: 1,
      // One POST of at most 5 s and two short statements, under the user tier (30 s) + margin.
      timeoutSeconds: 40,
      minInstances: 0,
      maxInstances: 1,
      // Deliveries wait on receivers, not on the pool.
      concurrency: 10,
      dbPoolMax: 1,
      tiers: ['user'],
      env: { ALERT_MAX_DELIVERY_ATTEMPTS: String(ALERT_DELIVERY_ATTEMPTS) },
      cloudEnv: {
        KMS_KEY_NAME: `projects/${PROJECT_PLACEHOLDER}/locations/europe-west1/keyRings/cloudact/cryptoKeys/integrations-kek`,
      },
    },
  ],
} satisfies ManifestInput;

/** The validated manifest: the single source of truth for every function. Throws at import when invalid. */
export const manifest: Manifest = parseManifest(MANIFEST_INPUT);

/** The function called `name`; throws naming the known functions when there is none. */
export function getFunction(name: string, m: Manifest = manifest): FunctionSpec {
  const fn = m.functions.find((f) => f.name === name);
  if (fn === undefined) {
    throw new Error(`No function "${name}" in the deploy manifest (known: ${m.functions.map((f) => f.name).join(', ')})`);
  }
  return fn;
}

/**
 * The environment a function runs with, locally and in Google Cloud alike: the manifest's
 * shared and per-function `env`, plus the values computed from the manifest —
 * `FUNCTION_NAME`, `FUNCTION_TIMEOUT_SECONDS` (= `timeoutSeconds`, so a function's deadline
 * comes from the same number the platform enforces), `DEADLINE_SAFETY_MARGIN_MS` and
 * `DB_POOL_MAX`. Cloud-only variables and secrets are added by `deploy/gcloud.ts`.
 */
export function functionEnv(name: string, m: Manifest = manifest): Record<string, string> {
  const fn = getFunction(name, m);
  const nodeOptions = fn.env?.NODE_OPTIONS ?? m.env.NODE_OPTIONS;
  return {
    ...m.env,
    ...fn.env,
    ...(nodeOptions === undefined ? {} : { NODE_OPTIONS: withHeapCap(nodeOptions, fn.memory) }),
    FUNCTION_NAME: fn.name,
    FUNCTION_TIMEOUT_SECONDS: String(fn.timeoutSeconds),
    DEADLINE_SAFETY_MARGIN_MS: String(m.safetyMarginMs),
    DB_POOL_MAX: String(fn.dbPoolMax),
  };
}

/** The share of an instance's memory the JavaScript heap may take; the rest is Node, buffers, sockets and native code. */
const HEAP_SHARE = 0.75;

/**
 * `options` with `--max-old-space-size` at {@link HEAP_SHARE} of the instance's memory,
 * unless it sets one itself. Without it V8 sizes its heap from the machine, not the
 * instance, and under a steady stream of short-lived objects lets garbage pile up for
 * hundreds of MiB before a full collection: the soak benchmark saw the pricing function's
 * heap at 534 MiB (RSS 714 MiB) on a 512 MiB instance. With the cap it collects as it
 * nears the instance's size.
 */
export function withHeapCap(options: string, memory: string): string {
  if (/--max-old-space-size[=\s]/.test(options)) return options;
  return `${options} --max-old-space-size=${Math.floor(mebibytes(memory) * HEAP_SHARE)}`.trim();
}

/** `512Mi` → 512, `1Gi` → 1024. */
function mebibytes(memory: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(memory);
  if (match === null) throw new Error(`Not a memory size: ${memory}`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
}

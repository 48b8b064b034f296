import { z } from 'zod';
import { POOL_MAX_CEILING } from '../shared/config/index.js';
import { DEFAULT_SAFETY_MARGIN_MS, TIER_NAMES } from '../shared/deadline/index.js';
import { ManifestError } from './errors.js';

/**
 * Written where a value depends on the Google Cloud project. Cloud Build substitutes it
 * natively (it is one of its built-in substitutions); the dry-run plan replaces it with
 * `--project` when given.
 */
export const PROJECT_PLACEHOLDER = '${PROJECT_ID}';

/** Memory sizes Cloud Run functions (2nd gen) accept. */
export const MEMORY_SIZES = ['128Mi', '256Mi', '512Mi', '1Gi', '2Gi', '4Gi', '8Gi', '16Gi', '32Gi'] as const;

/** vCPU amounts Cloud Run functions (2nd gen) accept. */
export const CPU_VALUES = [0.083, 0.167, 0.333, 0.583, 1, 2, 4, 6, 8] as const;

/**
 * Variables the manifest computes for every function ({@link functionEnv}) or the platform
 * sets itself; a function's own `env`/`secrets` may not set them, so the computed value is
 * the only one (the timeout in particular has exactly one source).
 */
export const RESERVED_ENV = [
  'FUNCTION_NAME',
  'FUNCTION_TIMEOUT_SECONDS',
  'DEADLINE_SAFETY_MARGIN_MS',
  'DB_POOL_MAX',
  'ADMIN_TOKEN',
  'PORT',
  'K_SERVICE',
  'K_REVISION',
  'K_CONFIGURATION',
  'FUNCTION_TARGET',
  'FUNCTION_SIGNATURE_TYPE',
] as const;

/**
 * Variables for the local stack and tests only, which no deployed function may have: they
 * lift a protection (`WEBHOOK_ALLOW_LOOPBACK_HTTP` lets webhooks reach 127.0.0.1).
 */
export const LOCAL_ONLY_ENV = ['WEBHOOK_ALLOW_LOOPBACK_HTTP'] as const;

const isLocalOnly = (variable: string): boolean => (LOCAL_ONLY_ENV as readonly string[]).includes(variable);

/** Cloud Run service names: lowercase letters, digits and dashes, no trailing dash, ≤ 63. */
const functionName = z
  .string()
  .regex(/^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/, { error: 'must be lowercase letters, digits and dashes, starting with a letter' });

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'must be an UPPER_SNAKE_CASE variable name' });

/** `secret-name:version` as `gcloud --set-secrets` takes it. */
const secretRef = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,255}:(latest|[1-9][0-9]*)$/, { error: 'must be a Secret Manager reference secret:version' });

const envMap = z.record(envName, z.string()).default({});
const secretMap = z.record(envName, secretRef).default({});

const intAtLeast = (min: number): z.ZodInt => z.int({ error: 'must be an integer' }).min(min, { error: `must be at least ${min}` });
const intBetween = (min: number, max: number): z.ZodInt => intAtLeast(min).max(max, { error: `must be at most ${max}` });

/** A Pub/Sub topic id: 3–255 characters, starting with a letter, not starting with `goog`. */
const topicId = z
  .string()
  .regex(/^(?!goog)[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/, { error: 'must be a Pub/Sub topic id' });

/** A service account's id (the part before `@`). */
const serviceAccountId = z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, { error: 'must be a service account id (the part before @)' });

/** Pub/Sub's longest ack deadline; a push endpoint slower than it gets the message again while still working. */
export const MAX_ACK_DEADLINE_SECONDS = 600;

/**
 * How a topic-triggered function receives its messages. Eventarc creates the push
 * subscription; the deploy plan then sets the retry backoff, ack deadline and
 * dead-letter policy on it (`gcloud pubsub subscriptions update`), and the local stack
 * creates its push subscription with the same settings.
 */
const topicTriggerSchema = z.strictObject({
  type: z.literal('topic'),
  topic: topicId,
  /** Redeliver on failure (non-2xx). @default true */
  retry: z.boolean().default(true),
  /** The identity Eventarc invokes the function with. @default cloud.serviceAccount */
  serviceAccount: serviceAccountId.optional(),
  /** Where a message goes after `maxDeliveryAttempts` failed deliveries; none: retried until retention ends. */
  deadLetterTopic: topicId.optional(),
  /** Pub/Sub accepts 5–100. @default 5 */
  maxDeliveryAttempts: intBetween(5, 100).default(5),
  /** Exponential backoff between redeliveries, 0–600 s each. @default 10 */
  minBackoffSeconds: intBetween(0, 600).default(10),
  /** @default 600 */
  maxBackoffSeconds: intBetween(0, 600).default(600),
  /** How long Pub/Sub waits for the push to answer, 10–600 s; must cover the function's timeout. @default 600 */
  ackDeadlineSeconds: intBetween(10, MAX_ACK_DEADLINE_SECONDS).default(MAX_ACK_DEADLINE_SECONDS),
});

const triggerSchema = z.discriminatedUnion('type', [z.strictObject({ type: z.literal('http') }), topicTriggerSchema]);

/** A Cloud Scheduler job that publishes to a topic of the manifest (`gcloud scheduler jobs create pubsub`). */
export const schedulerJobSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,500}$/, { error: 'must be letters, digits, dashes and underscores' }),
  /** unix-cron, e.g. `*\/5 * * * *`. */
  schedule: z.string().regex(/^\S+( \S+){4}$/, { error: 'must be a five-field unix-cron schedule' }),
  /** @default UTC */
  timeZone: z.string().default('UTC'),
  topic: topicId,
  /** @default '{}' */
  messageBody: z.string().min(1).default('{}'),
  /** @default europe-west1 */
  region: z.string().regex(/^[a-z]+-[a-z]+[0-9]+$/, { error: 'must be a region such as europe-west1' }).default('europe-west1'),
});

/** One deployable function. */
export const functionSpecSchema = z
  .strictObject({
    name: functionName,
    /** The functions-framework target; always the name, so logs, URLs and code agree. */
    entryPoint: z.string(),
    /** `functions/<name>`: the folder holding `index.ts`. */
    source: z.string(),
    trigger: triggerSchema,
    runtime: z.literal('nodejs22').default('nodejs22'),
    /** @default europe-west1 */
    region: z.string().regex(/^[a-z]+-[a-z]+[0-9]+$/, { error: 'must be a region such as europe-west1' }).default('europe-west1'),
    memory: z.enum(MEMORY_SIZES),
    cpu: z.union(CPU_VALUES.map((v) => z.literal(v)), { error: `must be one of ${CPU_VALUES.join(', ')}` }),
    /** The platform timeout; the function reads it as `FUNCTION_TIMEOUT_SECONDS`. Limits are checked by `checkManifest`. */
    timeoutSeconds: intAtLeast(1),
    minInstances: intAtLeast(0),
    maxInstances: intAtLeast(1),
    concurrency: intAtLeast(1).max(1000, { error: 'must be at most 1000' }),
    /** Connections one instance may open (`DB_POOL_MAX`). */
    dbPoolMax: intAtLeast(1).max(POOL_MAX_CEILING, { error: `must be at most ${POOL_MAX_CEILING}` }),
    /** Timeout tiers the function's code uses; each must fit the timeout. */
    tiers: z.array(z.enum(TIER_NAMES, { error: `must be one of ${TIER_NAMES.join(', ')}` })).min(1),
    /** Plain variables, the same locally and in Google Cloud. */
    env: envMap,
    /** Variables only Google Cloud gets (they name cloud resources); may use {@link PROJECT_PLACEHOLDER}. */
    cloudEnv: envMap,
    /** Secret Manager references, Google Cloud only. */
    secrets: secretMap,
    /** Gets `ADMIN_TOKEN` (Secret Manager in Google Cloud, generated by the local stack). @default false */
    needsAdminToken: z.boolean().default(false),
  })
  .superRefine((fn, ctx) => {
    if (fn.entryPoint !== fn.name) {
      ctx.addIssue({ code: 'custom', path: ['entryPoint'], message: `must equal the name (${fn.name})` });
    }
    if (fn.source !== `functions/${fn.name}`) {
      ctx.addIssue({ code: 'custom', path: ['source'], message: `must be functions/${fn.name}` });
    }
    if (fn.minInstances > fn.maxInstances) {
      ctx.addIssue({ code: 'custom', path: ['minInstances'], message: `must not exceed maxInstances (${fn.maxInstances})` });
    }
    if (new Set(fn.tiers).size !== fn.tiers.length) {
      ctx.addIssue({ code: 'custom', path: ['tiers'], message: 'must not repeat a tier' });
    }
    for (const key of ['env', 'cloudEnv', 'secrets'] as const) {
      for (const variable of Object.keys(fn[key])) {
        if ((RESERVED_ENV as readonly string[]).includes(variable)) {
          ctx.addIssue({ code: 'custom', path: [key, variable], message: 'is set by the manifest or the platform, not per function' });
        }
        if (isLocalOnly(variable)) ctx.addIssue({ code: 'custom', path: [key, variable], message: 'is for the local stack and tests only, never deployed' });
      }
    }
    for (const variable of Object.keys(fn.secrets)) {
      if (variable in fn.env || variable in fn.cloudEnv) {
        ctx.addIssue({ code: 'custom', path: ['secrets', variable], message: 'is also a plain variable; choose one' });
      }
    }
    const trigger = fn.trigger;
    if (trigger.type === 'topic') {
      if (trigger.maxBackoffSeconds < trigger.minBackoffSeconds) {
        ctx.addIssue({ code: 'custom', path: ['trigger', 'maxBackoffSeconds'], message: `must be at least minBackoffSeconds (${trigger.minBackoffSeconds})` });
      }
      if (trigger.deadLetterTopic === trigger.topic) {
        ctx.addIssue({ code: 'custom', path: ['trigger', 'deadLetterTopic'], message: 'must differ from the trigger topic' });
      }
      if (trigger.deadLetterTopic !== undefined && !trigger.retry) {
        ctx.addIssue({ code: 'custom', path: ['trigger', 'deadLetterTopic'], message: 'needs retry: a message that is never retried is never dead-lettered' });
      }
    }
  });

/** The Cloud SQL instance every function shares, and how functions reach it. */
export const cloudSqlSchema = z.strictObject({
  tier: z.string().min(1),
  /** The tier's `max_connections`. */
  maxConnections: intAtLeast(1),
  /** Connections Cloud SQL keeps for superuser/maintenance (`superuser_reserved_connections`). */
  reserved: intAtLeast(0),
  instance: z.string().regex(/^[a-z][a-z0-9-]{0,96}$/),
  region: z.string().regex(/^[a-z]+-[a-z]+[0-9]+$/),
  database: z.string().min(1),
  user: z.string().min(1),
  ipType: z.enum(['PUBLIC', 'PRIVATE', 'PSC']),
  /** The database user's password (`DB_PASSWORD`). */
  passwordSecret: secretRef,
});

/** Google Cloud settings shared by every function. */
export const cloudSchema = z.strictObject({
  /** The runtime service account's id (the part before `@`). */
  serviceAccount: serviceAccountId,
  /** Serverless VPC Access connector; needed only for private-IP Cloud SQL. */
  vpcConnector: z.string().optional(),
  /** Where the admin token lives for functions with `needsAdminToken`. */
  adminTokenSecret: secretRef,
  /** Variables every function gets in Google Cloud only. */
  env: envMap,
  /** Secrets every function gets. */
  secrets: secretMap,
});

/** Everything `deploy/` knows about the system; validated when `manifest.ts` loads. */
export const manifestSchema = z
  .strictObject({
    cloudSql: cloudSqlSchema,
    /** Connections kept free for migrations and an operator's psql. */
    adminHeadroom: intAtLeast(0),
    /** Written to every function as `DEADLINE_SAFETY_MARGIN_MS`. @default DEFAULT_SAFETY_MARGIN_MS */
    safetyMarginMs: intAtLeast(0).default(DEFAULT_SAFETY_MARGIN_MS),
    /** Variables every function gets, locally and in Google Cloud. */
    env: envMap,
    cloud: cloudSchema,
    /** Pub/Sub topics the deploy creates (if missing) and the local stack creates on start. @default [] */
    topics: z.array(topicId).default([]),
    /** Cloud Scheduler jobs publishing to those topics. @default [] */
    schedulerJobs: z.array(schedulerJobSchema).default([]),
    functions: z.array(functionSpecSchema).min(1),
  })
  .superRefine((m, ctx) => {
    const topics = new Set(m.topics);
    if (topics.size !== m.topics.length) ctx.addIssue({ code: 'custom', path: ['topics'], message: 'must not repeat a topic' });
    const listed = (topic: string, path: (string | number)[]): void => {
      if (!topics.has(topic)) ctx.addIssue({ code: 'custom', path, message: `${topic} is not in topics` });
    };
    m.functions.forEach((fn, i) => {
      if (fn.trigger.type !== 'topic') return;
      listed(fn.trigger.topic, ['functions', i, 'trigger', 'topic']);
      if (fn.trigger.deadLetterTopic !== undefined) listed(fn.trigger.deadLetterTopic, ['functions', i, 'trigger', 'deadLetterTopic']);
    });
    const jobs = new Set<string>();
    m.schedulerJobs.forEach((job, i) => {
      listed(job.topic, ['schedulerJobs', i, 'topic']);
      if (jobs.has(job.name)) ctx.addIssue({ code: 'custom', path: ['schedulerJobs', i, 'name'], message: `${job.name} appears twice` });
      jobs.add(job.name);
    });
    const seen = new Set<string>();
    m.functions.forEach((fn, i) => {
      if (seen.has(fn.name)) ctx.addIssue({ code: 'custom', path: ['functions', i, 'name'], message: `${fn.name} appears twice` });
      seen.add(fn.name);
    });
    for (const variable of [...Object.keys(m.env), ...Object.keys(m.cloud.env), ...Object.keys(m.cloud.secrets)]) {
      if ((RESERVED_ENV as readonly string[]).includes(variable)) {
        ctx.addIssue({ code: 'custom', path: ['env', variable], message: 'is set by the manifest or the platform' });
      }
      if (isLocalOnly(variable)) ctx.addIssue({ code: 'custom', path: ['env', variable], message: 'is for the local stack and tests only, never deployed' });
    }
  });

/** A validated manifest (defaults applied). */
export type Manifest = z.infer<typeof manifestSchema>;
/** What a manifest may be written as (defaults optional). */
export type ManifestInput = z.input<typeof manifestSchema>;
/** One validated function entry. */
export type FunctionSpec = z.infer<typeof functionSpecSchema>;
/** A function's trigger. */
export type Trigger = FunctionSpec['trigger'];
/** A topic trigger with its defaults applied. */
export type TopicTrigger = Extract<Trigger, { type: 'topic' }>;
/** One Cloud Scheduler job. */
export type SchedulerJob = z.infer<typeof schedulerJobSchema>;

/**
 * Validates `input` against {@link manifestSchema}; throws a {@link ManifestError} that
 * names every bad field by path (`functions.2.dbPoolMax: must be at most 3`).
 */
export function parseManifest(input: unknown): Manifest {
  const result = manifestSchema.safeParse(input);
  if (result.success) return result.data;
  throw new ManifestError(
    result.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`),
    { cause: result.error },
  );
}

import { describe, expect, it } from 'vitest';
import { deployArgs, deployCommands, deployEnv, deploySecrets, listFlag, shellQuote } from '../../deploy/gcloud.js';
import { eventTriggerScript, schedulerJobScript, topicsScript } from '../../deploy/eventSetup.js';
import { getFunction, manifest, parseManifest, PROJECT_PLACEHOLDER } from '../../deploy/manifest.js';
import { parsePlanArgs, renderPlan } from '../../deploy/plan.js';
import { eventFnInput, fnInput, manifestInput } from './manifestCases.js';

/** `--flag=value` → value, from a list of gcloud args. */
function flag(args: string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

describe('gcloud deploy commands', () => {
  it.each(manifest.functions.filter((fn) => fn.trigger.type === 'http').map((fn) => ({ fn })))('deploys $fn.name with every setting from the manifest', ({ fn }) => {
    const args = deployArgs(fn.name, { projectId: 'acme-prod' });

    expect(args.slice(0, 4)).toEqual(['functions', 'deploy', fn.name, '--gen2']);
    expect(flag(args, 'runtime')).toBe('nodejs22');
    expect(flag(args, 'region')).toBe(fn.region);
    expect(flag(args, 'source')).toBe(`dist/${fn.name}`);
    expect(flag(args, 'entry-point')).toBe(fn.entryPoint);
    expect(flag(args, 'memory')).toBe(fn.memory);
    expect(flag(args, 'timeout')).toBe(`${fn.timeoutSeconds}s`);
    expect(flag(args, 'min-instances')).toBe(String(fn.minInstances));
    expect(flag(args, 'max-instances')).toBe(String(fn.maxInstances));
    expect(flag(args, 'concurrency')).toBe(String(fn.concurrency));
    expect(args).toContain('--trigger-http');
    expect(args).toContain('--allow-unauthenticated');
    expect(flag(args, 'set-env-vars')).toContain(`FUNCTION_TIMEOUT_SECONDS=${fn.timeoutSeconds},`);
    expect(flag(args, 'set-env-vars')).toContain(`DB_POOL_MAX=${fn.dbPoolMax},`);
    expect(flag(args, 'set-secrets')).toContain('DB_PASSWORD=cloudact-db-password:latest');
    expect(args.join(' ')).not.toContain(PROJECT_PLACEHOLDER);
  });

  it('gives the admin token secret to orgs only', () => {
    expect(deploySecrets('orgs')).toHaveProperty('ADMIN_TOKEN', manifest.cloud.adminTokenSecret);
    expect(deploySecrets('quota')).not.toHaveProperty('ADMIN_TOKEN');
  });

  it('points functions at Cloud SQL and the KMS key in the given project', () => {
    const env = deployEnv('integrations', { projectId: 'acme-prod' });

    expect(env).toMatchObject({
      INSTANCE_CONNECTION_NAME: 'acme-prod:europe-west1:cloudact-pg',
      DB_NAME: 'cloudact',
      DB_IP_TYPE: 'PUBLIC',
      GOOGLE_CLOUD_PROJECT: 'acme-prod',
      KMS_KEY_NAME: 'projects/acme-prod/locations/europe-west1/keyRings/cloudact/cryptoKeys/integrations-kek',
    });
  });

  it('deploys an event function on its topic, with retries, as its trigger service account and without public access', () => {
    const m = parseManifest(manifestInput([eventFnInput('runner')]));

    const args = deployArgs('runner', { manifest: m, projectId: 'p' });

    expect(args).toContain('--trigger-topic=pipeline-runs');
    expect(args).toContain('--retry');
    expect(args).toContain('--trigger-service-account=test-functions@p.iam.gserviceaccount.com');
    expect(args).not.toContain('--trigger-http');
    expect(args).not.toContain('--allow-unauthenticated');
  });

  it('uses the trigger’s own service account when it names one, and no --retry when retries are off', () => {
    const m = parseManifest(manifestInput([eventFnInput('ticker', { retry: false, serviceAccount: 'scheduler-invoker' })]));

    const args = deployArgs('ticker', { manifest: m, projectId: 'p' });

    expect(args).toContain('--trigger-service-account=scheduler-invoker@p.iam.gserviceaccount.com');
    expect(args).not.toContain('--retry');
  });

  it('sets the backoff, ack deadline and dead-letter policy on the Eventarc subscription and lets Pub/Sub forward dead letters', () => {
    const m = parseManifest(
      manifestInput([eventFnInput('runner', { deadLetterTopic: 'runs-dead', maxDeliveryAttempts: 7, minBackoffSeconds: 15, maxBackoffSeconds: 300 })]),
    );

    const script = eventTriggerScript(getFunction('runner', m), m, 'acme');

    expect(script).toContain('gcloud functions add-invoker-policy-binding runner --region=europe-west1 --project=acme --member=serviceAccount:test-functions@acme.iam.gserviceaccount.com');
    expect(script).toContain(`TRIGGER="$(gcloud functions describe runner --gen2 --region=europe-west1 --project=acme '--format=value(eventTrigger.trigger)')"`);
    expect(script).toContain(
      'gcloud pubsub subscriptions update "$SUBSCRIPTION" --project=acme --ack-deadline=600 --min-retry-delay=15s --max-retry-delay=300s --dead-letter-topic=projects/acme/topics/runs-dead --max-delivery-attempts=7',
    );
    expect(script).toContain('gcloud pubsub topics add-iam-policy-binding runs-dead --project=acme --member="serviceAccount:service-$PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com" --role=roles/pubsub.publisher');
    expect(script).toContain('--role=roles/pubsub.subscriber');
  });

  it('clears any dead-letter policy of an event function that has none in the manifest', () => {
    const m = parseManifest(manifestInput([eventFnInput('runner')]));

    const script = eventTriggerScript(getFunction('runner', m), m, 'acme');

    expect(script).toContain('--clear-dead-letter-policy');
    expect(script).not.toContain('gcp-sa-pubsub');
  });

  it('creates missing topics and creates or updates each scheduler job', () => {
    const m = parseManifest(
      manifestInput([fnInput('alpha')], { topics: ['ticks'], schedulerJobs: [{ name: 'tick', schedule: '*/5 * * * *', topic: 'ticks' }] }),
    );

    expect(topicsScript(m, 'acme')).toContain('gcloud pubsub topics describe ticks --project=acme >/dev/null 2>&1 || gcloud pubsub topics create ticks --project=acme');
    expect(topicsScript(m, 'acme')).toContain(
      'gcloud pubsub topics add-iam-policy-binding ticks --project=acme --member=serviceAccount:test-functions@acme.iam.gserviceaccount.com --role=roles/pubsub.publisher',
    );
    const job = schedulerJobScript(m.schedulerJobs[0]!, 'acme');
    expect(job).toContain(
      "gcloud scheduler jobs create pubsub tick --location=europe-west1 --project=acme '--schedule=*/5 * * * *' --time-zone=UTC --topic=projects/acme/topics/ticks '--message-body={}'",
    );
    expect(job).toContain('gcloud scheduler jobs update pubsub tick');
  });

  it.each<{ entries: Record<string, string>; expected: string }>([
    { entries: { B: '2', A: '1' }, expected: '--set-env-vars=A=1,B=2' },
    { entries: { LIST: 'a,b', X: 'y' }, expected: '--set-env-vars=^|^LIST=a,b|X=y' },
  ])('writes $entries as $expected', ({ entries, expected }) => {
    expect(listFlag('--set-env-vars', entries)).toBe(expected);
  });

  it.each([
    { arg: '--timeout=60s', quoted: '--timeout=60s' },
    { arg: "--set-env-vars=MSG=it's", quoted: `'--set-env-vars=MSG=it'\\''s'` },
    { arg: `--project=${PROJECT_PLACEHOLDER}`, quoted: `"--project=${PROJECT_PLACEHOLDER}"` },
    { arg: `--x=$HOME:${PROJECT_PLACEHOLDER}`, quoted: `"--x=\\$HOME:${PROJECT_PLACEHOLDER}"` },
  ])('quotes $arg for the shell as $quoted', ({ arg, quoted }) => {
    expect(shellQuote(arg)).toBe(quoted);
  });
});

describe('deploy plan (dry run)', () => {
  it('prints one gcloud command per function with the project filled in, after creating the topics and before the scheduler jobs', () => {
    const plan = renderPlan(parsePlanArgs(['--project=acme-prod'], {}));

    expect(plan.match(/^gcloud functions deploy /gm)).toHaveLength(manifest.functions.length);
    expect(plan.indexOf('# pubsub-topics')).toBeLessThan(plan.indexOf('gcloud functions deploy'));
    expect(plan.indexOf('# scheduler-maintenance-tick')).toBeGreaterThan(plan.lastIndexOf('gcloud functions deploy'));
    expect(plan).toContain('--project=acme-prod');
    expect(plan).not.toContain(PROJECT_PLACEHOLDER);
  });

  it('leaves ${PROJECT_ID} for the shell when no project is given, and can plan a single function', () => {
    const args = parsePlanArgs(['quota'], {});

    expect(args).toEqual({ projectId: undefined, names: ['quota'] });
    expect(deployCommands(args.names)).toHaveLength(1);
    expect(renderPlan(args)).toContain(`"--project=${PROJECT_PLACEHOLDER}"`);
  });

  it('rejects an unknown option', () => {
    expect(() => parsePlanArgs(['--yes'], {})).toThrow('Unknown option --yes');
  });
});

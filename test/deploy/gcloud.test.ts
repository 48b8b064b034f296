import { describe, expect, it } from 'vitest';
import { deployArgs, deployCommands, deployEnv, deploySecrets, listFlag, shellQuote } from '../../deploy/gcloud.js';
import { manifest, parseManifest, PROJECT_PLACEHOLDER } from '../../deploy/manifest.js';
import { parsePlanArgs, renderPlan } from '../../deploy/plan.js';
import { fnInput, manifestInput } from './manifestCases.js';

/** `--flag=value` → value, from a list of gcloud args. */
function flag(args: string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

describe('gcloud deploy commands', () => {
  it.each(manifest.functions.map((fn) => ({ fn })))('deploys $fn.name with every setting from the manifest', ({ fn }) => {
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

  it('deploys an event function on its topic, with retries and without public access', () => {
    const m = parseManifest(
      manifestInput([fnInput('runner', { trigger: { type: 'topic', topic: 'pipeline-runs' }, tiers: ['batch'], timeoutSeconds: 540 })]),
    );

    const args = deployArgs('runner', { manifest: m, projectId: 'p' });

    expect(args).toContain('--trigger-topic=pipeline-runs');
    expect(args).toContain('--retry');
    expect(args).not.toContain('--trigger-http');
    expect(args).not.toContain('--allow-unauthenticated');
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
  it('prints one gcloud command per function with the project filled in', () => {
    const plan = renderPlan(parsePlanArgs(['--project=acme-prod'], {}));

    expect(plan.match(/^gcloud functions deploy /gm)).toHaveLength(manifest.functions.length);
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

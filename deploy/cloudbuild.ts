import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DOCKER_IMAGE, startTestServicesScript, TEST_SERVICE_CONTAINERS, TEST_SERVICE_ENV } from './cloudbuildTestServices.js';
import { isMain } from './isMain.js';
import { manifest as realManifest, PROJECT_PLACEHOLDER, type Manifest } from './manifest.js';
import { REPO_ROOT } from './paths.js';
import { deploySteps } from './steps.js';

/** The committed file this generator owns. */
export const CLOUDBUILD_PATH = path.join(REPO_ROOT, 'cloudbuild.yaml');

/** Image for the npm steps: the Node major we develop and test on. */
const NODE_IMAGE = 'node:20';
/** Image for the deploy steps. */
const GCLOUD_IMAGE = 'gcr.io/google.com/cloudsdktool/cloud-sdk:slim';

interface Step {
  id: string;
  name: string;
  entrypoint: string;
  args: string[];
  env?: readonly string[];
  waitFor?: string[];
}

/**
 * Cloud Build reads `$NAME`/`${NAME}` in args as substitutions and rejects unknown ones;
 * only the project placeholder is meant as one, so every other `$` is doubled (`$$`).
 */
function escapeSubstitutions(arg: string): string {
  return arg
    .split(PROJECT_PLACEHOLDER)
    .map((part) => part.replace(/\$/g, '$$$$'))
    .join(PROJECT_PLACEHOLDER);
}

/** A YAML scalar: plain when obviously safe, else double-quoted (JSON strings are valid YAML). */
function scalar(value: string): string {
  return /^(--)?[A-Za-z0-9][\w./=:@+-]*$/.test(value) ? value : JSON.stringify(value);
}

/**
 * The pipeline's steps: checks in order, the test services started from the first moment,
 * the tests against them, then the build, then topics, deploys, subscription policies and
 * scheduler jobs, each after what it needs.
 */
export function cloudBuildSteps(manifest: Manifest = realManifest): Step[] {
  const npm = (id: string, ...args: string[]): Step => ({ id, name: NODE_IMAGE, entrypoint: 'npm', args });
  return [
    npm('install', 'ci'),
    npm('lint', 'run', 'lint'),
    npm('typecheck', 'run', 'typecheck'),
    npm('check-deploy', 'run', 'check:deploy'),
    // From the start of the build (`-`), beside install, lint and typecheck; the test step has
    // no waitFor, so it waits for every step before it, this one included.
    { id: 'test-services', name: DOCKER_IMAGE, entrypoint: 'bash', args: ['-c', escapeSubstitutions(startTestServicesScript())], waitFor: ['-'] },
    { ...npm('test', 'test'), env: TEST_SERVICE_ENV.map(escapeSubstitutions) },
    // Frees their memory for the build and deploy steps. A failed test step fails the build
    // before this: the containers go with the build's machine.
    { id: 'test-services-stop', name: DOCKER_IMAGE, entrypoint: 'docker', args: ['rm', '--force', ...TEST_SERVICE_CONTAINERS] },
    npm('build', 'run', 'build'),
    ...deploySteps(manifest).map((step) => ({
      id: step.id,
      name: GCLOUD_IMAGE,
      ...('gcloud' in step.run
        ? { entrypoint: 'gcloud', args: step.run.gcloud.map(escapeSubstitutions) }
        : { entrypoint: 'bash', args: ['-c', escapeSubstitutions(step.run.script)] }),
      waitFor: step.waitFor,
    })),
  ];
}

/** Renders `cloudbuild.yaml` from the manifest; deterministic, so it can be compared to the committed file. */
export function renderCloudBuild(manifest: Manifest = realManifest): string {
  const lines = [
    '# Generated from deploy/manifest.ts by deploy/cloudbuild.ts. Do not edit by hand:',
    '# regenerate with `npx tsx deploy/cloudbuild.ts --write` (a test fails when this file drifts).',
    '#',
    '# Steps without waitFor run in order, each after every step before it succeeded, so nothing',
    '# deploys unless lint, typecheck, the connection-budget check and the tests pass.',
    '# The tests get their services as CI systems give them: test-services starts PostgreSQL',
    '# (postgres:16) and the official Pub/Sub emulator as containers on the build\'s `cloudbuild`',
    '# network from the start of the build, and the test step (node:20, which has neither Java nor',
    '# the emulator) reaches them by name through DATABASE_URL and PUBSUB_EMULATOR_HOST.',
    '# Migrations are not run here (the build has no route to Cloud SQL): apply them with',
    '# `npm run migrate` through the Cloud SQL Auth Proxy before deploying code that needs them.',
    'steps:',
  ];
  for (const step of cloudBuildSteps(manifest)) {
    lines.push(`  - id: ${scalar(step.id)}`, `    name: ${scalar(step.name)}`, `    entrypoint: ${scalar(step.entrypoint)}`);
    lines.push('    args:', ...step.args.map((arg) => `      - ${scalar(arg)}`));
    if (step.env !== undefined) lines.push('    env:', ...step.env.map((entry) => `      - ${scalar(entry)}`));
    if (step.waitFor !== undefined) lines.push('    waitFor:', ...step.waitFor.map((id) => `      - ${scalar(id)}`));
  }
  lines.push(
    '# Tests and the deploys fit comfortably in 30 minutes; a hang fails the build instead of billing on.',
    'timeout: 1800s',
    'options:',
    // Required when the build runs as a user-managed service account, harmless otherwise.
    '  logging: CLOUD_LOGGING_ONLY',
  );
  return `${lines.join('\n')}\n`;
}

if (isMain(import.meta.url)) {
  const rendered = renderCloudBuild();
  const mode = process.argv[2];
  if (mode === '--write') {
    writeFileSync(CLOUDBUILD_PATH, rendered);
    console.log(`wrote ${path.relative(REPO_ROOT, CLOUDBUILD_PATH)}`);
  } else if (mode === '--check') {
    let current = '';
    try {
      current = readFileSync(CLOUDBUILD_PATH, 'utf8');
    } catch {
      // Missing counts as out of date.
    }
    if (current !== rendered) {
      console.error('cloudbuild.yaml is out of date; run `npx tsx deploy/cloudbuild.ts --write`');
      process.exit(1);
    }
    console.log('cloudbuild.yaml is up to date');
  } else {
    process.stdout.write(rendered);
  }
}

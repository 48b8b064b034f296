import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
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

/** The pipeline's steps: checks in order, then the build, then topics, deploys, subscription policies and scheduler jobs, each after what it needs. */
export function cloudBuildSteps(manifest: Manifest = realManifest): Step[] {
  const npm = (id: string, ...args: string[]): Step => ({ id, name: NODE_IMAGE, entrypoint: 'npm', args });
  return [
    npm('install', 'ci'),
    npm('lint', 'run', 'lint'),
    npm('typecheck', 'run', 'typecheck'),
    npm('check-deploy', 'run', 'check:deploy'),
    npm('test', 'test'),
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
    '# Steps without waitFor run in order, each after the previous one succeeded, so nothing',
    '# deploys unless lint, typecheck, the connection-budget check and the tests pass.',
    '# The tests run here: they start their own embedded PostgreSQL (as the `postgres` user,',
    '# since build steps run as root); the Pub/Sub tests start the official emulator, which needs',
    '# Java 17 and the gcloud pubsub-emulator component in the test step\'s image.',
    '# Migrations are not run here (the build has no route to Cloud SQL): apply them with',
    '# `npm run migrate` through the Cloud SQL Auth Proxy before deploying code that needs them.',
    'steps:',
  ];
  for (const step of cloudBuildSteps(manifest)) {
    lines.push(`  - id: ${scalar(step.id)}`, `    name: ${scalar(step.name)}`, `    entrypoint: ${scalar(step.entrypoint)}`);
    lines.push('    args:', ...step.args.map((arg) => `      - ${scalar(arg)}`));
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

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLOUDBUILD_PATH, cloudBuildSteps, renderCloudBuild } from '../../deploy/cloudbuild.js';
import { manifest, parseManifest } from '../../deploy/manifest.js';
import { fnInput, manifestInput } from './manifestCases.js';

describe('cloudbuild.yaml', () => {
  it('equals what deploy/cloudbuild.ts generates from the manifest (regenerate with `npx tsx deploy/cloudbuild.ts --write`)', () => {
    expect(readFileSync(CLOUDBUILD_PATH, 'utf8')).toBe(renderCloudBuild());
  });

  it('runs the checks and tests before the build; creates the topics, deploys every function and sets up the scheduler after it', () => {
    const ids = cloudBuildSteps().map((s) => s.id);

    expect(ids.slice(0, 8)).toEqual(['install', 'lint', 'typecheck', 'check-deploy', 'test-services', 'test', 'test-services-stop', 'build']);
    expect(ids.slice(8)).toEqual([
      'pubsub-topics',
      ...manifest.functions.map((f) => `deploy-${f.name}`),
      ...manifest.functions.filter((f) => f.trigger.type === 'topic').map((f) => `subscription-${f.name}`),
      ...manifest.schedulerJobs.map((j) => `scheduler-${j.name}`),
    ]);
    for (const step of cloudBuildSteps().slice(8)) expect(step.waitFor?.length).toBeGreaterThan(0);
  });

  it('starts PostgreSQL and the Pub/Sub emulator on the build network from the start, and gives the test step their addresses', () => {
    const steps = cloudBuildSteps();
    const ids = steps.map((s) => s.id);
    const services = steps.find((s) => s.id === 'test-services');
    const test = steps.find((s) => s.id === 'test');

    // `-`: from the start of the build, beside install, lint and typecheck.
    expect(services).toMatchObject({ name: 'gcr.io/cloud-builders/docker', entrypoint: 'bash', waitFor: ['-'] });
    const script = services?.args[1] ?? '';
    expect(script).toContain('docker run -d --network=cloudbuild --name=pg ');
    expect(script).toContain(' postgres:16 -c max_connections=200');
    expect(script).toContain(
      'docker run -d --network=cloudbuild --name=pubsub gcr.io/google.com/cloudsdktool/google-cloud-cli:emulators gcloud beta emulators pubsub start --host-port=0.0.0.0:8085',
    );
    // It polls both until they answer, and fails the build when they never do.
    expect(script).toContain('docker exec pg pg_isready');
    expect(script).toContain('curl -fs http://pubsub:8085/');
    expect(script.trimEnd().endsWith('exit 1')).toBe(true);
    // No waitFor: the tests wait for every step before them, the services included.
    expect(ids.indexOf('test-services')).toBeLessThan(ids.indexOf('test'));
    expect(test).toEqual({
      id: 'test',
      name: 'node:20',
      entrypoint: 'npm',
      args: ['test'],
      env: ['DATABASE_URL=postgres://cloudact:cloudact-ci@pg:5432/cloudact_test', 'PUBSUB_EMULATOR_HOST=pubsub:8085'],
    });
  });

  it('gives the services script to bash as valid bash once Cloud Build has turned `$$` back into `$`', () => {
    const script = (cloudBuildSteps().find((s) => s.id === 'test-services')?.args[1] ?? '').replace(/\$\$/g, '$');

    const check = spawnSync('bash', ['-n', '-c', script], { encoding: 'utf8' });

    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('fails the build when a test fails: the test step is plain `npm test` (its exit code is the step\'s), allowed no failure, and everything after it waits for it', () => {
    const steps = cloudBuildSteps();
    const at = steps.findIndex((s) => s.id === 'test');

    // The step has exactly the fields above (toEqual), so no allowFailure or allowExitCodes.
    expect(steps[at]).not.toHaveProperty('allowFailure');
    expect(steps[at]).not.toHaveProperty('allowExitCodes');
    // The next two have no waitFor: each runs after every step before it, the tests included.
    expect(steps.slice(at + 1, at + 3).map((s) => [s.id, s.waitFor])).toEqual([
      ['test-services-stop', undefined],
      ['build', undefined],
    ]);
    expect(steps.find((s) => s.id === 'test-services-stop')?.args).toEqual(['rm', '--force', 'pg', 'pubsub']);
  });

  it('deploys an event function after its topic exists and sets its subscription policy after the deploy', () => {
    const m = parseManifest(
      manifestInput(
        [fnInput('api'), fnInput('runner', { trigger: { type: 'topic', topic: 'runs', deadLetterTopic: 'runs-dead' }, tiers: ['batch'], timeoutSeconds: 320 })],
        { topics: ['runs', 'runs-dead'] },
      ),
    );

    const steps = cloudBuildSteps(m);

    expect(steps.find((s) => s.id === 'deploy-api')?.waitFor).toEqual(['build']);
    expect(steps.find((s) => s.id === 'deploy-runner')?.waitFor).toEqual(['build', 'pubsub-topics']);
    const policy = steps.find((s) => s.id === 'subscription-runner');
    expect(policy).toMatchObject({ entrypoint: 'bash', waitFor: ['deploy-runner'] });
    // Shell variables reach bash as `$NAME`: Cloud Build turns `$$` back into `$`.
    expect(policy?.args[1]).toContain('"$$SUBSCRIPTION"');
    expect(policy?.args[1]).toContain('--dead-letter-topic=projects/${PROJECT_ID}/topics/runs-dead');
  });

  it('leaves only ${PROJECT_ID} for Cloud Build to substitute', () => {
    const yaml = renderCloudBuild();

    const substitutions = [...yaml.replace(/\$\$/g, '').matchAll(/\$\{?([A-Z_]+)/g)].map((m) => m[1]);
    expect(new Set(substitutions)).toEqual(new Set(['PROJECT_ID']));
  });
});

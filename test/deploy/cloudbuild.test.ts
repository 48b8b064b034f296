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

    expect(ids.slice(0, 6)).toEqual(['install', 'lint', 'typecheck', 'check-deploy', 'test', 'build']);
    expect(ids.slice(6)).toEqual([
      'pubsub-topics',
      ...manifest.functions.map((f) => `deploy-${f.name}`),
      ...manifest.functions.filter((f) => f.trigger.type === 'topic').map((f) => `subscription-${f.name}`),
      ...manifest.schedulerJobs.map((j) => `scheduler-${j.name}`),
    ]);
    for (const step of cloudBuildSteps().slice(6)) expect(step.waitFor?.length).toBeGreaterThan(0);
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

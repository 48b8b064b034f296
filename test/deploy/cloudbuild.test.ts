import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLOUDBUILD_PATH, cloudBuildSteps, renderCloudBuild } from '../../deploy/cloudbuild.js';
import { manifest } from '../../deploy/manifest.js';

describe('cloudbuild.yaml', () => {
  it('equals what deploy/cloudbuild.ts generates from the manifest (regenerate with `npx tsx deploy/cloudbuild.ts --write`)', () => {
    expect(readFileSync(CLOUDBUILD_PATH, 'utf8')).toBe(renderCloudBuild());
  });

  it('runs the checks and tests before the build, and deploys every function after it', () => {
    const ids = cloudBuildSteps().map((s) => s.id);

    expect(ids.slice(0, 6)).toEqual(['install', 'lint', 'typecheck', 'check-deploy', 'test', 'build']);
    expect(ids.slice(6)).toEqual(manifest.functions.map((f) => `deploy-${f.name}`));
    for (const step of cloudBuildSteps().slice(6)) expect(step.waitFor).toEqual(['build']);
  });

  it('leaves only ${PROJECT_ID} for Cloud Build to substitute', () => {
    const yaml = renderCloudBuild();

    const substitutions = [...yaml.replace(/\$\$/g, '').matchAll(/\$\{?([A-Z_]+)/g)].map((m) => m[1]);
    expect(new Set(substitutions)).toEqual(new Set(['PROJECT_ID']));
  });
});

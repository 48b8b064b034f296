import { gcloudCommand } from './gcloud.js';
import { isMain } from './isMain.js';
import { getFunction, manifest, PROJECT_PLACEHOLDER } from './manifest.js';
import { deploySteps } from './steps.js';

/** Parsed command line of the plan script. */
export interface PlanArgs {
  projectId: string | undefined;
  names: string[] | undefined;
}

/** `[--project=ID] [name…]`; the project falls back to `GOOGLE_CLOUD_PROJECT`. */
export function parsePlanArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): PlanArgs {
  let projectId = env.GOOGLE_CLOUD_PROJECT?.trim() || undefined;
  const names: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith('--project=')) projectId = arg.slice('--project='.length) || undefined;
    else if (arg.startsWith('-')) throw new Error(`Unknown option ${arg} (usage: deploy/plan.ts [--project=ID] [function…])`);
    else names.push(arg);
  }
  return { projectId, names: names.length > 0 ? names : undefined };
}

/**
 * The dry run: the exact commands the manifest implies, as a shell script — topics,
 * `gcloud functions deploy` per function, each event function's subscription policy,
 * the scheduler jobs. It only prints; it never runs gcloud. Naming functions plans just
 * those (and the subscription policy of the event functions among them).
 */
export function renderPlan({ projectId, names }: PlanArgs): string {
  const header = [
    '#!/bin/sh',
    '# Deploy plan generated from deploy/manifest.ts (dry run: nothing was deployed).',
    '# Run `npm run check:deploy && npm run build` first; --source points at dist/<name>.',
    projectId === undefined
      ? `# No --project given: ${PROJECT_PLACEHOLDER} is left for the shell (export PROJECT_ID=…).`
      : `# Project: ${projectId}`,
    'set -e',
  ];
  for (const name of names ?? []) getFunction(name);
  const wanted = (id: string): boolean =>
    names === undefined || names.some((name) => id === `deploy-${name}` || id === `subscription-${name}`);
  const body = deploySteps(manifest, projectId)
    .filter((step) => wanted(step.id))
    .map((step) => {
      if ('gcloud' in step.run) return `${gcloudCommand(step.run.gcloud)}\n`;
      return `# ${step.id}\n(\n${step.run.script.replace(/^/gm, '  ')}\n)\n`;
    });
  return [...header, '', ...body].join('\n');
}

if (isMain(import.meta.url)) {
  try {
    process.stdout.write(renderPlan(parsePlanArgs(process.argv.slice(2))));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}

import { deployCommands } from './gcloud.js';
import { isMain } from './isMain.js';
import { manifest, PROJECT_PLACEHOLDER } from './manifest.js';

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
 * The dry run: the exact `gcloud functions deploy` commands the manifest implies, as a
 * shell script. It only prints; it never runs gcloud.
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
  return [...header, '', ...deployCommands(names, { manifest, projectId }).map((c) => `${c}\n`)].join('\n');
}

if (isMain(import.meta.url)) {
  try {
    process.stdout.write(renderPlan(parsePlanArgs(process.argv.slice(2))));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}

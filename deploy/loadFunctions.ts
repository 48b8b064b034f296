import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { definedEventFunctions, definedHttpFunctions, type DefinedEventFunction, type DefinedHttpFunction } from '../shared/function/index.js';
import { manifest as realManifest, type FunctionSpec, type Manifest, type TopicTrigger } from './manifest.js';
import { REPO_ROOT } from './paths.js';

/**
 * Settings a function refuses to load without, set to values that only let it load: its
 * routes are all we read, no request is served and nothing connects, so no real secret is
 * needed (nor wanted) to describe the API. Only what the environment does not set already.
 */
const DESCRIBE_ONLY_ENV: Readonly<Record<string, string>> = {
  ADMIN_TOKEN: 'describe-only-admin-token-never-served',
  KMS_KEY_NAME: 'projects/describe-only/locations/global/keyRings/none/cryptoKeys/none',
  BIGQUERY_PROJECT_ID: 'describe-only',
  METADATA_SERVER_DETECTION: 'none',
};

/**
 * Every HTTP function of the manifest, as its own module declares it: each
 * `functions/<name>/index.ts` is imported (which runs its `defineHttpFunction`) and its
 * declaration read back. Discovered from the manifest, so a new function is described
 * without being listed anywhere else. In manifest order.
 */
export async function loadHttpFunctions(manifest: Manifest = realManifest): Promise<DefinedHttpFunction[]> {
  const found: DefinedHttpFunction[] = [];
  for (const fn of manifest.functions.filter((f) => f.trigger.type === 'http')) {
    await importFunction(fn);
    const defined = definedHttpFunctions().get(fn.entryPoint);
    if (defined === undefined) throw new Error(`${fn.source}/index.ts declares no HTTP function named ${fn.entryPoint}`);
    found.push(defined);
  }
  return found;
}

/** Every topic-triggered function of the manifest, as its module declares it, with its trigger. In manifest order. */
export async function loadEventFunctions(manifest: Manifest = realManifest): Promise<(DefinedEventFunction & { trigger: TopicTrigger })[]> {
  const found: (DefinedEventFunction & { trigger: TopicTrigger })[] = [];
  for (const fn of manifest.functions) {
    if (fn.trigger.type !== 'topic') continue;
    await importFunction(fn);
    const defined = definedEventFunctions().get(fn.entryPoint);
    if (defined === undefined) throw new Error(`${fn.source}/index.ts declares no event function named ${fn.entryPoint}`);
    found.push({ ...defined, trigger: fn.trigger });
  }
  return found;
}

/** Imports a function's module (which declares it), with the settings it needs to load. */
async function importFunction(fn: FunctionSpec): Promise<void> {
  for (const [name, value] of Object.entries(DESCRIBE_ONLY_ENV)) process.env[name] ??= value;
  await import(pathToFileURL(path.join(REPO_ROOT, fn.source, 'index.ts')).href);
}

import { functionEnv, getFunction, manifest as realManifest, PROJECT_PLACEHOLDER, type FunctionSpec, type Manifest } from './manifest.js';

/** Options for rendering deploy commands. */
export interface DeployOptions {
  /** @default the real manifest */
  manifest?: Manifest;
  /**
   * Replaces {@link PROJECT_PLACEHOLDER}. Left unset for Cloud Build, which substitutes
   * `${PROJECT_ID}` itself.
   */
  projectId?: string;
}

/**
 * Everything a function's environment holds in Google Cloud: {@link functionEnv} (the
 * same as locally), then how to reach Cloud SQL (from `cloudSql`), then the shared and
 * per-function cloud-only variables. Later entries win.
 */
export function deployEnv(name: string, { manifest = realManifest, projectId }: DeployOptions = {}): Record<string, string> {
  const fn = getFunction(name, manifest);
  const { cloudSql } = manifest;
  const env: Record<string, string> = {
    ...functionEnv(name, manifest),
    INSTANCE_CONNECTION_NAME: `${PROJECT_PLACEHOLDER}:${cloudSql.region}:${cloudSql.instance}`,
    DB_NAME: cloudSql.database,
    DB_USER: cloudSql.user,
    DB_IP_TYPE: cloudSql.ipType,
    ...manifest.cloud.env,
    ...fn.cloudEnv,
  };
  return mapValues(env, (value) => resolveProject(value, projectId));
}

/** The Secret Manager references a function gets (`VARIABLE` → `secret:version`). */
export function deploySecrets(name: string, { manifest = realManifest }: DeployOptions = {}): Record<string, string> {
  const fn = getFunction(name, manifest);
  return {
    DB_PASSWORD: manifest.cloudSql.passwordSecret,
    ...manifest.cloud.secrets,
    ...(fn.needsAdminToken ? { ADMIN_TOKEN: manifest.cloud.adminTokenSecret } : {}),
    ...fn.secrets,
  };
}

/**
 * The arguments of `gcloud` that deploy one function (without `gcloud` itself). Every
 * setting is passed explicitly, and env vars and secrets are *set* (replacing what is
 * deployed), so the deployed function is exactly what the manifest says — nothing left
 * over from an earlier deploy or a console edit.
 */
export function deployArgs(name: string, options: DeployOptions = {}): string[] {
  const { manifest = realManifest, projectId } = options;
  const fn = getFunction(name, manifest);
  const project = resolveProject(PROJECT_PLACEHOLDER, projectId);
  const args = [
    'functions',
    'deploy',
    fn.name,
    '--gen2',
    `--project=${project}`,
    `--region=${fn.region}`,
    `--runtime=${fn.runtime}`,
    `--source=dist/${fn.name}`,
    `--entry-point=${fn.entryPoint}`,
    ...triggerArgs(fn, manifest, project),
    `--memory=${fn.memory}`,
    `--cpu=${fn.cpu}`,
    `--timeout=${fn.timeoutSeconds}s`,
    `--min-instances=${fn.minInstances}`,
    `--max-instances=${fn.maxInstances}`,
    `--concurrency=${fn.concurrency}`,
    `--service-account=${serviceAccountEmail(manifest.cloud.serviceAccount, project)}`,
  ];
  if (manifest.cloud.vpcConnector !== undefined) {
    args.push(`--vpc-connector=${manifest.cloud.vpcConnector}`, '--egress-settings=private-ranges-only');
  }
  args.push(listFlag('--set-env-vars', deployEnv(name, options)));
  const secrets = deploySecrets(name, options);
  args.push(Object.keys(secrets).length > 0 ? listFlag('--set-secrets', secrets) : '--clear-secrets');
  args.push('--quiet');
  return args;
}

function triggerArgs(fn: FunctionSpec, manifest: Manifest, project: string): string[] {
  if (fn.trigger.type === 'http') {
    // Public on purpose: callers authenticate with our API keys (and the admin token),
    // checked in the function; Cloud Run IAM would demand Google identities they lack.
    return ['--trigger-http', '--allow-unauthenticated'];
  }
  // Not public: only Eventarc's push, as the trigger service account, may invoke it.
  return [
    `--trigger-topic=${fn.trigger.topic}`,
    ...(fn.trigger.retry ? ['--retry'] : []),
    `--trigger-service-account=${serviceAccountEmail(fn.trigger.serviceAccount ?? manifest.cloud.serviceAccount, project)}`,
  ];
}

/** `id@project.iam.gserviceaccount.com`. */
export function serviceAccountEmail(id: string, project: string): string {
  return `${id}@${project}.iam.gserviceaccount.com`;
}

/**
 * `--flag=K1=V1,K2=V2`, keys sorted so output is stable. A value holding a comma switches
 * to gcloud's alternate-delimiter syntax (`--flag=^|^K1=a,b|K2=c`, see `gcloud topic escaping`).
 */
export function listFlag(flag: string, entries: Record<string, string>): string {
  const pairs = Object.keys(entries)
    .sort()
    .map((key) => `${key}=${entries[key]}`);
  const delimiter = [',', '|', '@', '#', '~', ';'].find((d) => !pairs.some((pair) => pair.includes(d)));
  if (delimiter === undefined) throw new Error(`${flag}: every delimiter gcloud could use appears in a value`);
  return delimiter === ',' ? `${flag}=${pairs.join(',')}` : `${flag}=^${delimiter}^${pairs.join(delimiter)}`;
}

/**
 * Quotes one argument for a POSIX shell. An argument still holding `${PROJECT_ID}` is
 * double-quoted with that placeholder left live, so the printed plan also runs as-is in a
 * shell where `PROJECT_ID` is exported; anything else that needs quoting is single-quoted.
 */
export function shellQuote(arg: string): string {
  if (/^[\w@%+=:,./^-]+$/.test(arg)) return arg;
  if (arg.includes(PROJECT_PLACEHOLDER)) {
    const escaped = arg.split(PROJECT_PLACEHOLDER).map((part) => part.replace(/[\\"$`]/g, '\\$&'));
    return `"${escaped.join(PROJECT_PLACEHOLDER)}"`;
  }
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** One function's deploy as a shell command, one flag per line. */
export function deployCommand(name: string, options: DeployOptions = {}): string {
  return gcloudCommand(deployArgs(name, options));
}

/** `gcloud` with `args` as a shell command: the words before the first flag on the first line, then one flag per line. */
export function gcloudCommand(args: string[]): string {
  const quoted = args.map(shellQuote);
  const firstFlag = quoted.findIndex((a) => a.startsWith('-'));
  const split = firstFlag === -1 ? quoted.length : firstFlag;
  return [`gcloud ${quoted.slice(0, split).join(' ')}`, ...quoted.slice(split)].join(' \\\n    ');
}

/** Deploy commands for `names` (default: every function, in manifest order). */
export function deployCommands(names?: string[], options: DeployOptions = {}): string[] {
  const { manifest = realManifest } = options;
  return (names ?? manifest.functions.map((f) => f.name)).map((name) => deployCommand(name, options));
}

/** Replaces {@link PROJECT_PLACEHOLDER} with `projectId` when given. */
export function resolveProject(value: string, projectId: string | undefined): string {
  return projectId === undefined ? value : value.split(PROJECT_PLACEHOLDER).join(projectId);
}

function mapValues(record: Record<string, string>, fn: (value: string) => string): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, fn(value)]));
}

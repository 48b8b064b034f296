import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { generateApiKey } from '../shared/auth/index.js';
import { buildFunctions, DIST_DIR } from '../deploy/build.js';
import { functionEnv, getFunction, manifest } from '../deploy/manifest.js';
import { migrate } from '../deploy/migrate.js';
import { startBigQueryProcess } from './bigquery/process.js';
import { startGateway, type Gateway } from './gateway.js';
import { startFunctionProcess, type FunctionProcess } from './functionProcess.js';
import { formatLogLine, logFormatFrom, type LogFormatOptions } from './logFormat.js';
import { startLocalPostgres, type LocalPostgres } from './postgres.js';
import { startLocalPubSub, type PubSubInfo } from './pubsub/index.js';
import { seedDemoUsage } from './seedDemo.js';

/** Path prefixes each HTTP function serves (API.md); the gateway routes by them. */
export const ROUTE_PREFIXES: Record<string, string[]> = {
  orgs: ['/v1/orgs'],
  quota: ['/v1/quota'],
  pricing: ['/v1/pricing'],
  subscriptions: ['/v1/subscriptions'],
  integrations: ['/v1/integrations'],
  costs: ['/v1/costs'],
  pipelines: ['/v1/pipelines'],
  budgets: ['/v1/budgets', '/v1/alerts'],
};

export interface StackOptions {
  /** Where data and secrets live. @default `.local` */
  localDir?: string;
  /** Gateway port. @default PORT or 8080 */
  port?: number;
  /** Receives each line the stack and its functions print. */
  output?: (line: string) => void;
  /** How function log lines are shown. @default from `LOG_FORMAT`, `NO_COLOR` and whether stdout is a terminal */
  logFormat?: LogFormatOptions;
  /** Functions to run. @default every function in the manifest */
  functions?: string[];
  /** Load the 90 days of demo usage into the demo org's dataset (idempotent). @default true */
  seedDemo?: boolean;
}

export interface StackInfo {
  gateway_url: string;
  functions: Record<string, string>;
  database_url: string;
  bigquery_url: string;
  /** Null when the Pub/Sub emulator could not start (Java or the component missing). */
  pubsub: PubSubInfo | null;
  admin_token: string;
  demo: { org_slug: string; api_key: string };
}

export interface Stack {
  info: StackInfo;
  /** Each function's process id (benchmarks read its RSS and CPU from /proc). */
  pids: Record<string, number | undefined>;
  /** Stops everything gracefully: gateway, functions (SIGTERM), BigQuery endpoint, PostgreSQL. */
  stop(): Promise<void>;
}

interface Secrets {
  admin_token: string;
  /** The database superuser's password, generated with this `.local/`. */
  database_password: string;
  demo_api_key?: string;
}

const DEMO_ORG = { org_slug: 'demo', name: 'Demo Org', plan: 'pro', admin_email: 'admin@demo.example' } as const;

/** Starts the whole system locally: PostgreSQL, BigQuery endpoint, every function, the gateway. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const localDir = path.resolve(options.localDir ?? '.local');
  const out = options.output ?? ((line: string) => console.log(line));
  const gatewayPort = options.port ?? Number(process.env.PORT ?? 8080);
  mkdirSync(localDir, { recursive: true, mode: 0o700 });
  // Owner only, also for a `.local/` made before this was enforced.
  chmodSync(localDir, 0o700);
  const { secrets, migrated } = loadSecrets(localDir);

  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        out(`[stack] cleanup failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    cleanups.length = 0;
  };

  try {
    out('[stack] starting PostgreSQL');
    const postgres: LocalPostgres = await startLocalPostgres({
      dataDir: path.join(localDir, 'postgres'),
      database: 'cloudact',
      persistent: true,
      password: secrets.database_password,
      // A `.local/` from before generated passwords had `postgres`; its cluster is given the new one.
      ...(migrated ? { formerPassword: 'postgres' } : {}),
      // db-f1-micro's limit, so the local stack feels the same connection pressure.
      maxConnections: 25,
    });
    cleanups.push(() => postgres.stop());
    // Runs after every function stopped: proves they left no connection behind.
    cleanups.push(async () => out(`[stack] database connections left by the functions: ${await countFunctionBackends(postgres.url)}`));
    await migrate(postgres.url, { log: (line) => out(`[migrate] ${line}`) });

    out('[stack] starting the BigQuery endpoint');
    // A process of its own, as BigQuery is a service of its own (see `startBigQueryProcess`).
    const bigquery = await startBigQueryProcess({ dataPath: path.join(localDir, 'bigquery.duckdb'), onLine: (line) => out(`[bigquery] ${line}`) });
    cleanups.push(() => bigquery.stop());

    // Stopped after the functions (cleanups run in reverse), so none loses its publisher mid-request.
    const pubsub = await startLocalPubSub({ manifest, out });
    cleanups.push(() => pubsub.stop());

    const names = options.functions ?? manifest.functions.map((f) => f.name);
    out(`[stack] building ${names.join(', ')}`);
    await buildFunctions(names);

    const processes = new Map<string, FunctionProcess>();
    cleanups.push(() => stopFunctions(processes, out));
    const env = {
      DATABASE_URL: postgres.url,
      ADMIN_TOKEN: secrets.admin_token,
      BIGQUERY_API_ENDPOINT: bigquery.url,
      GOOGLE_CLOUD_PROJECT: 'local-project',
      KEK_FILE: path.join(localDir, 'kek.key'),
      // Budget webhooks may go to a receiver on this machine (http://127.0.0.1:PORT); never in Google Cloud.
      WEBHOOK_ALLOW_LOOPBACK_HTTP: 'true',
      ...pubsub.env,
    };
    const logFormat = options.logFormat ?? logFormatFrom(process.env, process.stdout.isTTY === true);
    // allSettled: when one function fails to start, the others that did are still stopped.
    const starts = await Promise.allSettled(
      names.map(async (name) => {
        const show = (line: string): void => {
          const text = formatLogLine(name, line, logFormat);
          if (text !== undefined) out(text);
        };
        processes.set(name, await startFunction(name, env, show));
      }),
    );
    const failed = starts.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;

    await pubsub.subscribe(new Map([...processes].map(([name, p]) => [name, p.url])));

    const routes = [...processes].flatMap(([name, p]) => (ROUTE_PREFIXES[name] ?? []).map((prefix) => ({ prefix, target: p.url })));
    const gateway: Gateway = await startGateway({
      port: gatewayPort,
      routes,
      healthTargets: Object.fromEntries([...processes].map(([name, p]) => [name, p.url])),
    });
    cleanups.push(() => gateway.close());

    const demoKey = names.includes('orgs') ? await ensureDemoOrg(gateway.url, postgres.url, secrets, localDir) : '';
    if (demoKey !== '' && options.seedDemo !== false) {
      const seeded = await seedDemoUsage({ orgSlug: DEMO_ORG.org_slug, bigqueryUrl: bigquery.url });
      out(`[stack] demo usage: ${seeded.rows} rows over 90 days, ${seeded.inserted} new`);
    }
    const info: StackInfo = {
      gateway_url: gateway.url,
      functions: Object.fromEntries([...processes].map(([name, p]) => [name, p.url])),
      database_url: postgres.url,
      bigquery_url: bigquery.url,
      pubsub: pubsub.info ?? null,
      admin_token: secrets.admin_token,
      demo: { org_slug: DEMO_ORG.org_slug, api_key: demoKey },
    };
    writeFileSync(path.join(localDir, 'stack.json'), JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
    chmodSync(path.join(localDir, 'stack.json'), 0o600);
    gateway.markReady();
    return { info, pids: Object.fromEntries([...processes].map(([name, p]) => [name, p.child.pid])), stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The secrets of this `.local/`; `migrated` when an older one got its database password now. */
function loadSecrets(localDir: string): { secrets: Secrets; migrated: boolean } {
  const file = path.join(localDir, 'secrets.json');
  if (existsSync(file)) {
    const secrets = JSON.parse(readFileSync(file, 'utf8')) as Partial<Secrets> & { admin_token: string };
    if (secrets.database_password !== undefined) return { secrets: secrets as Secrets, migrated: false };
    const upgraded: Secrets = { ...secrets, database_password: newPassword() };
    saveSecrets(localDir, upgraded);
    return { secrets: upgraded, migrated: true };
  }
  const secrets: Secrets = { admin_token: `adm_${randomBytes(24).toString('base64url')}`, database_password: newPassword() };
  saveSecrets(localDir, secrets);
  const kek = path.join(localDir, 'kek.key');
  if (!existsSync(kek)) writeFileSync(kek, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
  return { secrets, migrated: false };
}

function newPassword(): string {
  return randomBytes(24).toString('base64url');
}

function saveSecrets(localDir: string, secrets: Secrets): void {
  const file = path.join(localDir, 'secrets.json');
  writeFileSync(file, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
  // `mode` applies only when the file is created.
  chmodSync(file, 0o600);
}

/** Starts one function the way the platform does: `functions-framework --target=NAME`. */
async function startFunction(name: string, extraEnv: Record<string, string>, onLine: (line: string) => void): Promise<FunctionProcess> {
  const spec = getFunction(name);
  return startFunctionProcess({
    source: path.join(DIST_DIR, name),
    target: spec.entryPoint,
    signatureType: spec.trigger.type === 'http' ? 'http' : 'cloudevent',
    // The developer's environment underneath (PATH, LOG_FORMAT, …); the platform's defaults
    // and the function's declared environment over it, as for every started function.
    baseEnv: process.env,
    env: { ...functionEnv(name), ...extraEnv },
    // Six functions start at once; on a busy 2-core machine that alone took 20-28 s.
    healthTimeoutMs: 90_000,
    onLine,
  });
}

/** SIGTERM to every function, as the platform does; SIGKILL after its 10 s grace. */
async function stopFunctions(processes: Map<string, FunctionProcess>, out: (line: string) => void): Promise<void> {
  await Promise.all(
    [...processes].map(async ([name, proc]) => {
      try {
        const { code } = await proc.stop('SIGTERM');
        if (code !== 0) out(`[stack] ${name} exited with code ${code}`);
      } catch (error) {
        out(`[stack] ${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }),
  );
}

async function ensureDemoOrg(gatewayUrl: string, databaseUrl: string, secrets: Secrets, localDir: string): Promise<string> {
  if (secrets.demo_api_key !== undefined) {
    const check = await fetch(`${gatewayUrl}/v1/orgs/me`, { headers: { authorization: `Bearer ${secrets.demo_api_key}` } });
    if (check.status === 200) return secrets.demo_api_key;
  }
  const res = await fetch(`${gatewayUrl}/v1/orgs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secrets.admin_token}`, 'content-type': 'application/json' },
    body: JSON.stringify(DEMO_ORG),
  });
  let key: string;
  if (res.status === 201) {
    key = ((await res.json()) as { api_key: { key: string } }).api_key.key;
  } else if (res.status === 409) {
    // The org exists but its key was lost (secrets.json deleted): issue one directly.
    key = await issueKeyDirectly(databaseUrl, DEMO_ORG.org_slug);
  } else {
    throw new Error(`Onboarding the demo org failed: ${res.status} ${await res.text()}`);
  }
  secrets.demo_api_key = key;
  saveSecrets(localDir, secrets);
  return key;
}

async function issueKeyDirectly(databaseUrl: string, orgSlug: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'local-stack' });
  await client.connect();
  try {
    const key = generateApiKey();
    await client.query(
      `INSERT INTO api_keys (org_id, key_hash, prefix) SELECT id, $2, $3 FROM orgs WHERE org_slug = $1`,
      [orgSlug, key.hash, key.prefix],
    );
    return key.key;
  } finally {
    await client.end();
  }
}

/** Backends in the stack's database other than our own probe (functions name theirs `<function>:<instance>`). */
async function countFunctionBackends(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'local-stack' });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
    );
    return rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}

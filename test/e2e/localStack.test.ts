import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../deploy/paths.js';
import { freePort } from '../../dev/freePort.js';
import { isAlive } from '../../dev/isAlive.js';
import { documentedFetch } from '../helpers/apiContract.js';
import { accepts, listenersOnPort, nonLoopbackAddresses } from '../helpers/listening.js';
import { embeddedPostgresSkipReason, pubsubEmulatorSkipReason } from '../helpers/localServices.js';


/** The files a fresh clone would have: tracked plus new, not ignored. */
function copyWorkingTree(to: string): void {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: REPO_ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f !== '' && existsSync(path.join(REPO_ROOT, f)));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(to, file)), { recursive: true });
    copyFileSync(path.join(REPO_ROOT, file), path.join(to, file));
  }
}

function descendants(pid: number): number[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const line of out.trim().split('\n')) {
    const [child, parent] = line.trim().split(/\s+/).map(Number) as [number, number];
    children.set(parent, [...(children.get(parent) ?? []), child]);
  }
  const result: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const next = children.get(stack.pop() as number) ?? [];
    result.push(...next);
    stack.push(...next);
  }
  return result;
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '(gone)';
  }
}


interface Started {
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

function npmStart(cwd: string, port: number): Started {
  const output: string[] = [];
  // Its own process group, so a signal to the group is what Ctrl-C in a terminal does.
  const child = spawn('npm', ['start'], {
    cwd,
    detached: true,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => output.push(...c.toString('utf8').split('\n')));
  child.stderr?.on('data', (c: Buffer) => output.push(...c.toString('utf8').split('\n')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const handle = { child, output, exited };
  startedStacks.push(handle);
  return handle;
}

/** Every stack this file started, so a failed assertion cannot leave one running. */
const startedStacks: Started[] = [];

/** Stops a stack a failed test left behind: SIGTERM (it stops in order), then SIGKILL to every process of its tree. */
async function stopLeftover(started: Started): Promise<void> {
  const pid = started.child.pid;
  if (pid === undefined || started.child.exitCode !== null || started.child.signalCode !== null) return;
  const tree = descendants(pid);
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    // already gone
  }
  await Promise.race([started.exited, sleep(30_000)]);
  for (const p of [pid, ...tree].filter(isAlive)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}

async function waitHealthy(url: string, started: Started, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (started.child.exitCode !== null) throw new Error(`npm start exited early:\n${started.output.join('\n')}`);
    try {
      const res = await fetch(`${url}/healthz`);
      // The gateway's answer names the functions: the port was free when chosen, but until
      // the gateway binds it another test's process may, and its own /healthz is 200 too.
      if (res.status === 200 && 'functions' in ((await res.json()) as object)) return;
    } catch {
      // not up yet
    }
    await sleep(250);
  }
  throw new Error(`the stack did not become healthy:\n${started.output.slice(-60).join('\n')}`);
}

/** Ctrl-C signals the terminal's whole process group; a process manager signals `npm` alone. */
async function stopWithSignal(started: Started, signal: NodeJS.Signals, to: 'group' | 'npm'): Promise<{ code: number | null; leftover: string[] }> {
  const pid = started.child.pid as number;
  const tree = descendants(pid);
  process.kill(to === 'group' ? -pid : pid, signal);
  const code = await Promise.race([started.exited, sleep(60_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') {
    process.kill(-pid, 'SIGKILL');
    throw new Error(`the stack did not stop within 60 s:\n${started.output.slice(-40).join('\n')}`);
  }
  // npm may exit before the script it ran has finished stopping; the stack gets 30 s.
  const until = Date.now() + 30_000;
  let leftover = tree.filter(isAlive);
  while (leftover.length > 0 && Date.now() < until) {
    await sleep(100);
    leftover = leftover.filter(isAlive);
  }
  return { code, leftover: leftover.map((p) => `${p} ${commandOf(p)}`) };
}

const clone = mkdtempSync(path.join(tmpdir(), 'cloudact-clone-'));
afterAll(async () => {
  await Promise.all(startedStacks.map(stopLeftover));
  rmSync(clone, { recursive: true, force: true });
}, 60_000);

/** `npm start` runs the embedded PostgreSQL and the emulator: set when the run was given either and this machine cannot run it. */
const cannotStartStack = embeddedPostgresSkipReason() ?? pubsubEmulatorSkipReason();

describe('the local stack, as a new user runs it', () => {
  beforeEach((ctx) => ctx.skip(cannotStartStack !== undefined, cannotStartStack));

  it('npm ci && npm start reaches healthy, serves the demo key through the gateway, and SIGINT leaves nothing behind', async () => {
    copyWorkingTree(clone);
    execFileSync('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: clone, stdio: 'ignore', timeout: 300_000 });

    const port = await freePort();
    const gateway = `http://127.0.0.1:${port}`;
    const first = npmStart(clone, port);
    await waitHealthy(gateway, first, 300_000);

    const stack = JSON.parse(readFileSync(path.join(clone, '.local/stack.json'), 'utf8')) as {
      gateway_url: string;
      demo: { org_slug: string; api_key: string };
      admin_token: string;
      database_url: string;
      bigquery_url: string;
      functions: Record<string, string>;
      pubsub: { emulator_host: string; project_id: string } | null;
    };
    expect(stack.gateway_url).toBe(gateway);
    // The emulator runs with the manifest's topics (Java and the emulator are on our machines).
    expect(stack.pubsub).toMatchObject({ project_id: 'local-project' });
    // The emulator's own REST answer, not one of our functions': nothing of ours documents it.
    const topics = await fetch(`http://${stack.pubsub?.emulator_host}/v1/projects/local-project/topics`);
    expect(((await topics.json()) as { topics: { name: string }[] }).topics.map((t) => t.name).sort()).toEqual(
      ['budget-alert-deliveries', 'budget-alert-deliveries-dead', 'maintenance-ticks', 'pipeline-runs', 'pipeline-runs-dead', 'usage-updated', 'usage-updated-dead'].map(
        (t) => `projects/local-project/topics/${t}`,
      ),
    );
    expect(Object.keys(stack.functions).sort()).toEqual([
      'budget-alert-delivery',
      'budget-alerts',
      'budgets',
      'costs',
      'integrations',
      'maintenance',
      'orgs',
      'pipeline-worker',
      'pipelines',
      'pricing',
      'quota',
      'subscriptions',
    ]);
    const auth = { authorization: `Bearer ${stack.demo.api_key}` };
    // A budget the demo org's spend already exceeds, with a webhook on this machine (the local
    // stack allows http://127.0.0.1): the run below makes the worker publish usage-updated, the
    // evaluator raise the alert and the delivery function POST it, signed.
    const hooks: { signature: string | undefined; body: string }[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        hooks.push({ signature: req.headers['cloudact-signature'] as string | undefined, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/cloudact`;
    const budget = await documentedFetch(`${gateway}/v1/budgets`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'demo', amount_usd: '0.01', period: 'year', thresholds_pct: [50], forecast: false, webhook_url: hookUrl }),
    });
    expect(budget.status).toBe(201);
    // The README's pipeline: trigger a demo run through the gateway; the emulator pushes it to
    // the worker, which loads the day and records it.
    const triggered = await documentedFetch(`${gateway}/v1/pipelines/demo_usage_daily/runs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
    expect(triggered.status).toBe(202);
    const { run_id: runId } = (await triggered.json()) as { run_id: string };
    let runState: { status?: string; rows_loaded?: number; unpriced_rows?: number } = {};
    for (const until = Date.now() + 60_000; Date.now() < until && runState.status !== 'succeeded' && runState.status !== 'failed'; ) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      runState = (await (await documentedFetch(`${gateway}/v1/pipelines/runs/${runId}`, { headers: auth })).json()) as typeof runState;
    }
    expect(runState).toMatchObject({ status: 'succeeded', unpriced_rows: 0 });
    expect(runState.rows_loaded).toBeGreaterThan(0);
    for (const until = Date.now() + 60_000; Date.now() < until && hooks.length === 0; ) await new Promise((resolve) => setTimeout(resolve, 500));
    receiver.close();
    expect(hooks).toHaveLength(1);
    expect(hooks[0]?.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(JSON.parse(hooks[0]?.body ?? '{}')).toMatchObject({ type: 'budget.threshold_crossed', org_slug: stack.demo.org_slug, threshold_pct: 50 });
    const quota = await documentedFetch(`${gateway}/v1/quota`, { headers: auth });
    expect(quota.status).toBe(200);
    expect(await quota.json()).toMatchObject({ org_slug: stack.demo.org_slug });
    expect((await documentedFetch(`${gateway}/v1/orgs/me`, { headers: auth })).status).toBe(200);
    expect((await documentedFetch(`${gateway}/v1/quota`)).status).toBe(401);
    const unknown = await documentedFetch(`${gateway}/v1/nothing`, { headers: { 'x-request-id': 'e2e-1' } });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('x-request-id')).toBe('e2e-1');
    expect(await unknown.json()).toMatchObject({ error: { code: 'NOT_FOUND', request_id: 'e2e-1' } });

    // Safe on a shared host: loopback only, a generated database password, owner-only .local/.
    const dbUrl = new URL(stack.database_url);
    expect(decodeURIComponent(dbUrl.password)).not.toBe('postgres');
    for (const url of [stack.database_url, ...Object.values(stack.functions)]) {
      const port = Number(new URL(url).port);
      expect(listenersOnPort(port)).toEqual([`127.0.0.1:${port}`]);
      for (const address of nonLoopbackAddresses()) expect(await accepts(address, port)).toBe(false);
    }
    expect((statSync(path.join(clone, '.local')).mode & 0o777).toString(8)).toBe('700');
    expect((statSync(path.join(clone, '.local/secrets.json')).mode & 0o777).toString(8)).toBe('600');
    expect((statSync(clone).mode & 0o777).toString(8)).toBe('700');
    // Function logs rendered for a person (no colours: not a terminal); no probe lines.
    const shown = first.output.join('\n');
    expect(shown).toMatch(/\d\d:\d\d:\d\d\.\d{3} quota {9}INFO {5}GET \/v1\/quota 200 [0-9.]+m?s request_id=\S+ org=demo/);
    expect(shown).not.toContain('GET /healthz 200');
    expect(shown).not.toContain('"severity"');
    // The first start seeded 90 days of demo usage, so costs show real numbers.
    const to = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const from = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
    const costs = await documentedFetch(`${gateway}/v1/costs?from=${from}&to=${to}&group_by=provider`, { headers: auth });
    expect(costs.status).toBe(200);
    const body = (await costs.json()) as { total_cost_usd: number; rows: unknown[] };
    expect(body.total_cost_usd).toBeGreaterThan(0);
    expect(body.rows.length).toBeGreaterThan(0);

    const stopped = await stopWithSignal(first, 'SIGINT', 'group');
    expect(stopped.leftover).toEqual([]);
    expect(first.output.join('\n')).toContain('database connections left by the functions: 0');

    // A second start on the same .local/ reuses the data: the same demo key still works.
    const second = npmStart(clone, port);
    await waitHealthy(gateway, second, 300_000);
    expect((await documentedFetch(`${gateway}/v1/orgs/me`, { headers: auth })).status).toBe(200);
    const again = await stopWithSignal(second, 'SIGTERM', 'npm');
    expect(again.leftover).toEqual([]);
    expect(again.code).toBe(0);
    expect(second.output.join('\n')).toContain('database connections left by the functions: 0');
    expect(second.output.join('\n')).toContain('[stack] stopped');
  }, 900_000);
});

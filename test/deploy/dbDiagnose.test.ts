import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionReport } from '../../deploy/connectionReport.js';
import { parseDiagnoseArgs, UsageError } from '../../deploy/dbDiagnose.js';
import { REPO_ROOT } from '../../deploy/paths.js';
import { createLeakDatabase, type LeakDatabase, type OpenedBackend } from '../fixtures/runtime/leakDatabase.js';

const SCRIPT = path.join(REPO_ROOT, 'deploy/dbDiagnose.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `db:diagnose` as the operator does: its own process, its own environment. */
async function runDiagnose(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, METADATA_SERVER_DETECTION: 'none', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  return { code, stdout, stderr };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let leakDb: LeakDatabase;
let app: OpenedBackend[];
let others: OpenedBackend[];
let openedAt: number;

beforeAll(async () => {
  leakDb = await createLeakDatabase('db_diagnose');
  app = [await leakDb.open('pricing:abc123'), await leakDb.open('quota:def'), await leakDb.open('pipeline-worker:0a1b2c3d')];
  // One in an open transaction: leaked too when it idles.
  await app[2]?.client.query('BEGIN');
  await app[2]?.client.query('SELECT 1');
  others = [
    await leakDb.open('psql'),
    await leakDb.open('metabase'),
    await leakDb.open('pricing'),
    await leakDb.open('unknownfn:x'),
    await leakDb.open('pricing:other-user', { otherUser: true }),
  ];
  openedAt = performance.now();
});

afterAll(async () => {
  await leakDb.drop();
});

/** Waits until every backend the test opened has been idle for more than `seconds`. */
async function idleFor(seconds: number): Promise<void> {
  const wait = seconds * 1000 + 300 - (performance.now() - openedAt);
  if (wait > 0) await sleep(wait);
}

// The steps share the backends opened above and run in order: look, find leaked, kill.
describe('npm run db:diagnose', () => {
  it('names every connection of the test in one JSON document and exits 0 when none has idled past the threshold', async () => {
    const run = await runDiagnose(['--json', '--idle-seconds', '60'], { DATABASE_URL: leakDb.url });

    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as ConnectionReport;
    expect(report.app.connections.map((c) => [c.pid, c.application_name]).sort()).toEqual(app.map((b) => [b.pid, b.applicationName]).sort());
    expect(report.app.connections.find((c) => c.application_name === 'pipeline-worker:0a1b2c3d')).toMatchObject({
      function: 'pipeline-worker',
      instance: '0a1b2c3d',
      state: 'idle in transaction',
      leaked: false,
    });
    expect(report.app.by_state).toEqual(
      expect.arrayContaining([expect.objectContaining({ function: 'pricing', instance: 'abc123', state: 'idle', count: 1 })]),
    );
    const database = new URL(leakDb.url).pathname.slice(1);
    const here = report.others.filter((o) => o.database === database);
    expect(here.map((o) => o.application_name).sort()).toEqual(['db-diagnose', ...others.map((b) => b.applicationName)].sort());
    expect(here.find((o) => o.application_name === 'pricing:other-user')?.user).toBe(leakDb.otherUser);
    expect(report.leaked).toEqual([]);
    expect(report.killed).toBeNull();
    const { slots } = report;
    expect(slots.used).toBeGreaterThanOrEqual(app.length + others.length + 1);
    expect(slots.free).toBe(
      Math.max(0, slots.max_connections - slots.superuser_reserved_connections - (slots.reserved_connections ?? 0) - slots.used),
    );
    expect(report.idle_seconds).toBe(60);
  });

  it("exits 1 and lists exactly this app's idle backends when they idled past the threshold, killing none", async () => {
    await idleFor(1);

    const run = await runDiagnose(['--json', '--idle-seconds', '1'], { DATABASE_URL: leakDb.url });

    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as ConnectionReport;
    expect(report.leaked.map((l) => [l.pid, l.application_name, l.state]).sort()).toEqual(
      app.map((b) => [b.pid, b.applicationName, b.applicationName.startsWith('pipeline') ? 'idle in transaction' : 'idle']).sort(),
    );
    for (const l of report.leaked) expect(l.idle_seconds).toBeGreaterThanOrEqual(1);
    expect(report.app.connections.every((c) => c.leaked)).toBe(true);
    expect(report.app.oldest_idle?.state_seconds).toBeGreaterThanOrEqual(1);
    const live = (await leakDb.backends()).map((b) => b.pid);
    expect(live).toEqual(expect.arrayContaining([...app, ...others].map((b) => b.pid)));
  });

  it('prints psql-style tables on a terminal, the leaked candidates among them', async () => {
    const run = await runDiagnose(['--idle-seconds', '1'], { DATABASE_URL: leakDb.url });

    expect(run.code).toBe(1);
    expect(run.stdout).toContain('Connection slots (whole server)');
    expect(run.stdout).toMatch(/ max_connections \| superuser_reserved \| reserved \| used \| free\n-+\+/);
    expect(run.stdout).toContain("This app's connections (by function, instance and state)");
    expect(run.stdout).toMatch(/Leaked candidates[^\n]*\n +pid +\| +application_name +\|/);
    for (const b of app) expect(run.stdout).toMatch(new RegExp(`^ +${b.pid} \\| ${b.applicationName} +\\|`, 'm'));
    expect(run.stdout).toContain('3 leaked connections found; run again with --kill-leaked to terminate them.');
  });

  it('terminates exactly the candidates with --kill-leaked and exits 0; everything else stays connected', async () => {
    const run = await runDiagnose(['--json', '--idle-seconds', '1', '--kill-leaked'], { DATABASE_URL: leakDb.url });

    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as ConnectionReport;
    expect(report.killed?.map((k) => k.pid).sort()).toEqual(app.map((b) => b.pid).sort());
    expect(await leakDb.waitGone(app.map((b) => b.pid))).toBe(true);
    const live = await leakDb.backends();
    expect(live.map((b) => b.application_name).sort()).toEqual(others.map((b) => b.applicationName).sort());
    // Terminations are logged on stderr, one JSON line each; stdout held only the document.
    const logged = run.stderr
      .split('\n')
      .filter((line) => line.includes('Terminated a leaked database connection'))
      .map((line) => JSON.parse(line) as { pid: number });
    expect(logged.map((l) => l.pid).sort()).toEqual(app.map((b) => b.pid).sort());
  });

  it('exits 0 once nothing is leaked any more', async () => {
    const run = await runDiagnose(['--idle-seconds', '1'], { DATABASE_URL: leakDb.url });

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('No leaked connections.');
  });

  it('exits 2 with the reason on stderr and nothing on stdout when the database is unreachable', async () => {
    const port = await closedPort();

    const run = await runDiagnose(['--json'], { DATABASE_URL: `postgres://nobody:secret@127.0.0.1:${port}/nowhere`, DB_CONNECT_ATTEMPTS: '1' });

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/db:diagnose failed: .*ECONNREFUSED/);
  });

  it('exits 2 when no database is configured', async () => {
    const run = await runDiagnose(['--json'], {});

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('Set DATABASE_URL or INSTANCE_CONNECTION_NAME');
  });

  it('exits 2 with the usage on stderr for a flag it does not know', async () => {
    const run = await runDiagnose(['--kill-everything'], { DATABASE_URL: leakDb.url });

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain("Unknown option '--kill-everything'");
    expect(run.stderr).toContain('Usage: npm run db:diagnose');
  });

  it.each([
    { argv: ['--idle-seconds', 'abc'], message: '--idle-seconds must be a whole number' },
    { argv: ['--idle-seconds', '0'], message: '--idle-seconds must be a whole number' },
    { argv: ['--idle-seconds', '1.5'], message: '--idle-seconds must be a whole number' },
    { argv: ['--idle-seconds'], message: "Option '--idle-seconds <value>' argument missing" },
    { argv: ['extra'], message: 'Unexpected argument' },
  ])('refuses $argv', ({ argv, message }) => {
    expect(() => parseDiagnoseArgs(argv)).toThrow(UsageError);
    expect(() => parseDiagnoseArgs(argv)).toThrow(message);
  });

  it.each([
    { argv: [], expected: { idleSeconds: 300, killLeaked: false, json: false, help: false } },
    { argv: ['--idle-seconds', '90', '--kill-leaked', '--json'], expected: { idleSeconds: 90, killLeaked: true, json: true, help: false } },
  ])('reads $argv', ({ argv, expected }) => {
    expect(parseDiagnoseArgs(argv)).toEqual(expected);
  });
});

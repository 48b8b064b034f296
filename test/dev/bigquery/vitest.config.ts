/**
 * Runs only the local-BigQuery tests, without the repository-wide global
 * setup (which starts PostgreSQL these tests do not need):
 *
 *   npx vitest run --config test/dev/bigquery/vitest.config.ts
 */
import { defineConfig } from 'vitest/config';
import { REPO_ROOT } from '../../../deploy/paths.js';

export default defineConfig({
  test: {
    root: REPO_ROOT,
    include: ['test/dev/bigquery/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { METADATA_SERVER_DETECTION: 'none' },
  },
});

/**
 * `npm run bench`: every product benchmark in one run, each in its own process (several
 * host functions in-process, and functions-framework keeps one registry per process),
 * against one PostgreSQL. Each prints its numbers beside the baseline it measured in the
 * same run; nothing here asserts.
 *
 *   quota   — GET /v1/quota through a real function process vs a bare function, 50 connections
 *   pricing — list p50/p99 cached vs uncached vs bare; bulk import of 5,000 subscriptions
 *   costs   — GET /v1/costs over 90 days of demo data; local BigQuery endpoint throughput and start-up
 *   hostile — the cost of refusing gzip/deflate bombs and huge streams vs a normal 1 KiB request
 *   pipelines — 50 orgs × 1 day of demo usage through real pipelines/worker processes and the
 *               Pub/Sub emulator (needs Java and the gcloud emulator), 1 vs 2 workers
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { benchDatabase } from './quota.js';

const only = process.argv.slice(2);
const benches = ['quota', 'pricing', 'costs', 'hostile', 'pipelines'].filter((name) => only.length === 0 || only.includes(name));

process.env.METADATA_SERVER_DETECTION = 'none';
const db = await benchDatabase();
let failed = 0;
try {
  for (const name of benches) {
    console.log(`\n=== ${name} ===`);
    const run = spawnSync(process.execPath, [...process.execArgv, path.join(import.meta.dirname, `${name}.ts`)], {
      stdio: 'inherit',
      env: { ...process.env, DATABASE_URL: db.url },
    });
    if (run.status !== 0) {
      failed += 1;
      console.error(`${name} benchmark exited with ${run.status ?? run.signal}`);
    }
  }
} finally {
  await db.stop();
}
process.exit(failed === 0 ? 0 : 1);

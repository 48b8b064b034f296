// `npm run test:external -- [vitest arguments]`: the tests the way CI runs them, with their
// services started outside the test run and handed to it in DATABASE_URL and
// PUBSUB_EMULATOR_HOST (see README, "Tests in CI"). It starts whichever of the two is not
// already set — a PostgreSQL server (the embedded binaries, its own process) and the
// official Pub/Sub emulator (its own process group) — runs vitest against them, stops both
// and exits with vitest's code.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../deploy/paths.js';
import { startLocalPostgres, type LocalPostgres } from './postgres.js';
import { startPubSubEmulator, type PubSubEmulator } from './pubsub/index.js';

/** As many as the test run's own embedded server gets (test/globalSetup.ts). */
const TEST_MAX_CONNECTIONS = 200;

const scratch = mkdtempSync(path.join(tmpdir(), 'cloudact-services-'));
let postgres: LocalPostgres | undefined;
let emulator: PubSubEmulator | undefined;

async function stopServices(): Promise<void> {
  await Promise.allSettled([postgres?.stop(), emulator?.stop()]);
  rmSync(scratch, { recursive: true, force: true });
}

/** The vitest run, once spawned. */
const run: { vitest?: ChildProcess } = {};
// Passed on to vitest once it runs (Ctrl-C in a terminal reaches it with its process group
// too), and the services are stopped once it exits. Before that, the services started so far
// are stopped here: the emulator runs in a process group of its own, which no terminal signal
// reaches.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (run.vitest !== undefined) run.vitest.kill(signal);
    else void stopServices().finally(() => process.exit(130));
  });
}

const env = { ...process.env };
try {
  if (env.DATABASE_URL === undefined || env.DATABASE_URL === '') {
    postgres = await startLocalPostgres({ dataDir: path.join(scratch, 'pg'), database: 'cloudact_test', persistent: false, maxConnections: TEST_MAX_CONNECTIONS });
    env.DATABASE_URL = postgres.url;
    console.log(`[services] PostgreSQL on 127.0.0.1:${postgres.port}`);
  }
  if (env.PUBSUB_EMULATOR_HOST === undefined || env.PUBSUB_EMULATOR_HOST === '') {
    emulator = await startPubSubEmulator({ projectId: 'cloudact-test', readyTimeoutMs: 80_000 });
    env.PUBSUB_EMULATOR_HOST = emulator.host;
    console.log(`[services] Pub/Sub emulator on ${emulator.host} (process group ${emulator.pgid})`);
  }
} catch (error) {
  await stopServices();
  throw error;
}

const vitest = spawn(path.join(REPO_ROOT, 'node_modules', '.bin', 'vitest'), ['run', ...process.argv.slice(2)], { cwd: REPO_ROOT, env, stdio: 'inherit' });
run.vitest = vitest;
const code = await new Promise<number>((resolve) => vitest.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal === null ? 1 : 130))));
await stopServices();
console.log('[services] stopped');
process.exit(code);

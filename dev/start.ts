// `npm start`: the whole system locally, offline. Ctrl-C or SIGTERM stops all of it.
//
// Ctrl-C in a terminal signals the whole foreground process group at once — PostgreSQL
// and the functions included — which would stop the database before the functions had
// flushed their buffers. So this script starts a supervisor in its own process group and
// only forwards the signal to it; the supervisor stops things in order (gateway,
// functions, BigQuery endpoint, database). If this script dies, the supervisor sees its
// stdin close and stops too.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startStack, type Stack } from './stack.js';

process.env.METADATA_SERVER_DETECTION = 'none';

if (process.env.CLOUDACT_STACK_SUPERVISOR !== '1') {
  const supervisor = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    detached: true,
    stdio: ['pipe', 'inherit', 'inherit'],
    env: { ...process.env, CLOUDACT_STACK_SUPERVISOR: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => supervisor.kill('SIGTERM'));
  }
  supervisor.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 0)));
} else {
  await supervise();
}

async function supervise(): Promise<void> {
  let stack: Stack | undefined;
  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`[stack] ${why}: stopping`);
    // Still starting: the start-up path sees `stopping` and stops what it started.
    if (stack === undefined) return;
    stack
      .stop()
      .then(() => {
        console.log('[stack] stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        console.error('[stack] stop failed', error);
        process.exit(1);
      });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stop(signal));
  process.stdin.on('end', () => stop('parent exited'));
  process.stdin.resume();

  try {
    stack = await startStack();
  } catch (error) {
    console.error(`[stack] failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  }
  if (stopping) {
    await stack.stop();
    process.exit(0);
  }
  const { info } = stack;
  console.log(`
CloudAct Functions is running.
  gateway        ${info.gateway_url}   (GET /healthz)
  database       ${info.database_url.replace(/:[^:@/]+@/, ':***@')}
  bigquery       ${info.bigquery_url}
  pubsub         ${info.pubsub === null ? 'not running (the [pubsub] line above says what to install)' : `PUBSUB_EMULATOR_HOST=${info.pubsub.emulator_host}`}
  demo org       ${info.demo.org_slug}
  details        .local/stack.json (admin token, demo API key, function URLs)

  curl -H "Authorization: Bearer $(node -p "require('./.local/stack.json').demo.api_key")" ${info.gateway_url}/v1/quota
`);
}

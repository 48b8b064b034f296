// `npm start`: the whole system locally, offline. Ctrl-C or SIGTERM stops all of it.
import { startStack } from './stack.js';

process.env.METADATA_SERVER_DETECTION = 'none';

const stack = await startStack().catch((error: unknown) => {
  console.error(`[stack] failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  process.exit(1);
});

const { info } = stack;
console.log(`
CloudAct Functions is running.
  gateway        ${info.gateway_url}   (GET /healthz)
  database       ${info.database_url.replace(/:[^:@/]+@/, ':***@')}
  bigquery       ${info.bigquery_url}
  demo org       ${info.demo.org_slug}
  details        .local/stack.json (admin token, demo API key, function URLs)

  curl -H "Authorization: Bearer $(node -p "require('./.local/stack.json').demo.api_key")" ${info.gateway_url}/v1/quota
`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`[stack] ${signal}: stopping`);
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
  });
}

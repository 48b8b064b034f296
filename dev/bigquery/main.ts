/**
 * CLI for the local BigQuery endpoint.
 *
 *   npx tsx dev/bigquery/main.ts --port 9050 --data .local/bigquery.duckdb [--host 127.0.0.1] [--project local-project]
 *
 * Prints exactly one JSON line `{"bigquery_url": "...", ...}` once listening
 * (the local stack parses it: `startBigQueryProcess`) and shuts down cleanly on
 * SIGINT/SIGTERM. With `--exit-with-parent` (spawned with an IPC channel), also when that
 * channel closes: its owner is gone.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { startBigQueryEndpoint } from './index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '9050' },
    host: { type: 'string', default: '127.0.0.1' },
    data: { type: 'string', default: ':memory:' },
    project: { type: 'string', default: 'local-project' },
    'exit-with-parent': { type: 'boolean', default: false },
  },
  strict: true,
});

const dataPath = values.data;
if (dataPath !== ':memory:') mkdirSync(dirname(dataPath), { recursive: true });

const endpoint = await startBigQueryEndpoint({
  port: Number(values.port),
  host: values.host,
  dataPath,
  projectId: values.project,
});

console.log(JSON.stringify({ bigquery_url: endpoint.url, port: endpoint.port, project_id: endpoint.projectId, data: dataPath }));

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  endpoint.close().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`local BigQuery endpoint: error during ${signal} shutdown`, err);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
if (values['exit-with-parent'] && process.channel !== undefined) {
  process.on('disconnect', () => shutdown('the end of its owner'));
  process.channel.unref();
}

/**
 * Local BigQuery-compatible REST v2 endpoint backed by DuckDB.
 *
 * The real `@google-cloud/bigquery` client talks to it unmodified:
 *
 * ```ts
 * const endpoint = await startBigQueryEndpoint({ port: 0 });
 * const bigquery = new BigQuery({ projectId: 'local-project', apiEndpoint: endpoint.url });
 * ```
 *
 * See README.md in this folder for the REST surface, the supported GoogleSQL
 * subset and known differences from BigQuery.
 */
import type { AddressInfo } from 'node:net';
import { Catalog } from './catalog.js';
import { Engine } from './engine.js';
import { JobManager } from './jobs.js';
import { buildRoutes, createBigQueryServer } from './server.js';
import type { ServerCounters } from './server.js';
import { TableData } from './tabledata.js';
import { MediaUploads } from './upload.js';

export { localBigQueryOptions } from './client.js';
export { SUPPORTED_FUNCTIONS, translateQuery } from './sql/index.js';
export type { TranslateContext, Translation, TableRef, StatementType } from './sql/index.js';
export { BigQueryApiError } from './errors.js';

/** Options for {@link startBigQueryEndpoint}. */
export interface BigQueryEndpointOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Interface to bind; defaults to 127.0.0.1. */
  host?: string;
  /** DuckDB database file; defaults to ':memory:' (nothing persists). */
  dataPath?: string;
  /** The endpoint's project id (defaults to `local-project`); fully-qualified table names must use it or the request's project. */
  projectId?: string;
  /** Maximum concurrently running query jobs (DuckDB connections). Defaults to 8. */
  maxConcurrentJobs?: number;
}

/** Counters reported by {@link BigQueryEndpoint.stats}. */
export interface BigQueryEndpointStats {
  requests: number;
  errors: number;
  jobsCreated: number;
  jobsRunning: number;
  jobsFailed: number;
  jobsTimedOut: number;
  jobsCancelled: number;
  jobsRemembered: number;
  rowsInserted: number;
  rowsDeduplicated: number;
  duckdbConnections: number;
  startupMs: number;
}

/** A running endpoint. */
export interface BigQueryEndpoint {
  /** Base URL to pass as the client's `apiEndpoint`, e.g. `http://127.0.0.1:9050`. */
  url: string;
  port: number;
  /** The endpoint's project id. */
  projectId: string;
  /** Stops accepting requests, interrupts running jobs and closes DuckDB. */
  close(): Promise<void>;
  stats(): BigQueryEndpointStats;
}

/**
 * Starts the endpoint and resolves once it is listening.
 *
 * @example
 * ```ts
 * const ep = await startBigQueryEndpoint({ dataPath: '.local/bigquery.duckdb', port: 9050 });
 * // ... new BigQuery({ projectId: 'local-project', apiEndpoint: ep.url })
 * await ep.close();
 * ```
 */
export async function startBigQueryEndpoint(opts: BigQueryEndpointOptions = {}): Promise<BigQueryEndpoint> {
  const started = performance.now();
  const host = opts.host ?? '127.0.0.1';
  const projectId = opts.projectId ?? 'local-project';
  let url = '';
  const engine = await Engine.open({ dataPath: opts.dataPath ?? ':memory:', maxConnections: opts.maxConcurrentJobs ?? 8 });
  try {
    const catalog = await Catalog.open(engine, () => url);
    const jobs = new JobManager(engine, catalog, projectId, () => url);
    const tabledata = new TableData(engine, catalog);
    const counters: ServerCounters = { requests: 0, errors: 0 };
    const uploads = new MediaUploads((project, job, data) => jobs.insertLoad(project, job, data), () => url);
    const server = createBigQueryServer(buildRoutes(catalog, jobs, tabledata), counters, uploads);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const startupMs = performance.now() - started;
    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      projectId,
      stats: () => ({
        ...counters,
        ...jobs.stats(),
        ...tabledata.counters,
        duckdbConnections: engine.connectionCount,
        startupMs,
      }),
      close: () => {
        closing ??= (async () => {
          jobs.stopAll();
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          });
          await engine.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await engine.close();
    throw err;
  }
}

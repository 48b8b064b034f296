/**
 * Quick benchmark of the local BigQuery endpoint through the real client:
 * start-up time, then simple parameterised queries from 20 concurrent
 * callers for 5 seconds.
 *
 *   npx tsx dev/bigquery/bench.ts
 *
 * The project benchmark imports {@link benchBigQueryEndpoint}.
 */
import { pathToFileURL } from 'node:url';
import { BigQuery } from '@google-cloud/bigquery';
import { localBigQueryOptions, startBigQueryEndpoint } from './index.js';

/** Benchmark result (milliseconds and queries per second). */
export interface BigQueryEndpointBench {
  startupMs: number;
  qps: number;
  p50Ms: number;
  p95Ms: number;
}

/** Options for {@link benchBigQueryEndpoint}. */
export interface BenchOptions {
  concurrency?: number;
  durationMs?: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] as number;
}

/**
 * Starts an in-memory endpoint, measures its start-up, then runs
 * `SELECT @x + 1` through `bigquery.query()` from `concurrency` callers for
 * `durationMs`. The loop is bounded by time and stops by itself; traffic
 * only goes to 127.0.0.1.
 */
export async function benchBigQueryEndpoint(opts: BenchOptions = {}): Promise<BigQueryEndpointBench> {
  const concurrency = opts.concurrency ?? 20;
  const durationMs = opts.durationMs ?? 5000;
  const t0 = performance.now();
  const endpoint = await startBigQueryEndpoint({ port: 0 });
  const startupMs = performance.now() - t0;
  try {
    const bigquery = new BigQuery(localBigQueryOptions(endpoint.url));
    // Warm-up: first request pays for module/JIT work on both sides.
    await bigquery.query({ query: 'SELECT @x + 1 AS y', params: { x: 0 } });
    const latencies: number[] = [];
    const deadline = performance.now() + durationMs;
    let counter = 0;
    const worker = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const x = counter++;
        const start = performance.now();
        const [rows] = await bigquery.query({ query: 'SELECT @x + 1 AS y', params: { x } });
        latencies.push(performance.now() - start);
        if ((rows as { y: number }[])[0]?.y !== x + 1) throw new Error('wrong result from local endpoint');
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    const elapsed = performance.now() - started;
    latencies.sort((a, b) => a - b);
    const round = (n: number): number => Math.round(n * 10) / 10;
    return {
      startupMs: round(startupMs),
      qps: round((latencies.length / elapsed) * 1000),
      p50Ms: round(percentile(latencies, 50)),
      p95Ms: round(percentile(latencies, 95)),
    };
  } finally {
    await endpoint.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  console.log(JSON.stringify(await benchBigQueryEndpoint()));
}

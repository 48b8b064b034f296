/**
 * The local BigQuery endpoint in a process of its own (`main.ts`), as the local stack runs
 * it. In the stack's own process it shared one event loop with the gateway: under
 * `npm run bench:load`'s 1,000 connections the gateway kept that loop busy, a
 * `datasets.list` took 10–12 s, audit inserts missed their 2 s budget (rows dropped) and a
 * `costs` refresh outlived the client's 30 s. BigQuery is a service of its own; so is this.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../deploy/paths.js';
import { collectLines } from '../collectLines.js';

export interface BigQueryProcess {
  url: string;
  pid: number;
  /** SIGTERM (the endpoint interrupts its jobs and closes DuckDB, which checkpoints the file), SIGKILL after 10 s; idempotent. */
  stop(): Promise<void>;
}

export interface BigQueryProcessOptions {
  /** The DuckDB file (`:memory:` for none). */
  dataPath: string;
  /** Receives each line the process prints after its ready line. */
  onLine?: (line: string) => void;
  /** @default 30_000 */
  readyTimeoutMs?: number;
}

const CLI = path.join(REPO_ROOT, 'dev', 'bigquery', 'main.ts');

/** Resolves after `ms` without keeping the process alive meanwhile (a deadline to race, not a reason to stay). */
function deadline(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Starts the endpoint and resolves once it printed its URL. The process gets its own
 * process group, so Ctrl-C in a terminal does not stop it before the functions that use it
 * (the stack decides the order), and an IPC channel, whose end tells it that its owner is
 * gone: an owner killed outright leaves no endpoint holding the DuckDB file.
 */
export async function startBigQueryProcess({ dataPath, onLine, readyTimeoutMs = 30_000 }: BigQueryProcessOptions): Promise<BigQueryProcess> {
  if (dataPath !== ':memory:') mkdirSync(path.dirname(dataPath), { recursive: true });
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--port', '0', '--data', dataPath, '--exit-with-parent'], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  // The channel must not keep this process alive; it exists for the child's sake.
  child.channel?.unref();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);

  const output: string[] = [];
  let ready: ((url: string) => void) | undefined;
  const url = new Promise<string>((resolve) => (ready = resolve));
  for (const stream of [child.stdout, child.stderr]) {
    collectLines(stream, (line) => {
      if (ready !== undefined && stream === child.stdout && line.startsWith('{"bigquery_url"')) {
        ready((JSON.parse(line) as { bigquery_url: string }).bigquery_url);
        ready = undefined;
      } else if (ready !== undefined) {
        output.push(line);
      } else {
        onLine?.(line);
      }
    });
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        if ((await Promise.race([exited.then(() => 'gone' as const), deadline(10_000)])) !== 'gone') {
          child.kill('SIGKILL');
          await exited;
        }
      }
      process.removeListener('exit', killOnExit);
    })();
    return stopping;
  };

  const outcome = await Promise.race([
    url,
    exited.then((code) => new Error(`the local BigQuery endpoint exited with ${code} before it was ready:\n${output.join('\n')}`)),
    deadline(readyTimeoutMs).then(() => new Error(`the local BigQuery endpoint was not ready within ${readyTimeoutMs} ms:\n${output.join('\n')}`)),
  ]);
  if (outcome instanceof Error) {
    await stop();
    throw outcome;
  }
  return { url: outcome, pid: child.pid as number, stop };
}

import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../deploy/paths.js';
import { freePort } from './freePort.js';
import { collectLines } from './collectLines.js';
import { LOOPBACK_ONLY_FLAG } from './loopbackOnly.js';

/** functions-framework's CLI entry (`build/src/main.js`, beside its package main, which `exports` hides). */
const frameworkMain = path.join(path.dirname(createRequire(import.meta.url).resolve('@google-cloud/functions-framework')), 'main.js');

/** How a function process ended. */
export interface FunctionExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** `performance.now()` when the exit was seen (shutdown tests time the drain with it). */
  at: number;
}

/** A running `functions-framework --target=NAME` child. */
export interface FunctionProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Every line the process printed (stdout and stderr, in arrival order). */
  lines: string[];
  /** Resolves once the process is gone. */
  exited: Promise<FunctionExit>;
  /** Sends `signal` and resolves with the exit code and how long the exit took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
}

/** Options of {@link startFunctionProcess}. */
export interface StartFunctionOptions {
  /** Folder of the bundle (`dist/<name>`, or a `buildFunction` output folder). */
  source: string;
  /** The functions-framework target (the manifest's entry point). */
  target: string;
  /** The function's own environment, set over `baseEnv` and the platform's defaults. */
  env: Record<string, string | undefined>;
  /**
   * What the child starts from. `METADATA_SERVER_DETECTION=none`, `NODE_ENV=production`
   * and then `env` are set over it.
   * @default only PATH, so a function sees its declared environment and nothing of the parent's
   */
  baseEnv?: Record<string, string | undefined>;
  signatureType?: 'http' | 'cloudevent';
  /**
   * When the returned promise resolves: `healthy` once `GET /healthz` answers 200,
   * `listening` once it answers at all (a fixture that serves no `/healthz`), `spawned` at
   * once (a process expected to fail at start-up; see {@link waitForExit}).
   * @default 'healthy'
   */
  waitFor?: 'healthy' | 'listening' | 'spawned';
  healthTimeoutMs?: number;
  /** `ignore` sends stdout to /dev/null (benchmarks: logging then costs only the write). @default 'pipe' */
  stdout?: 'pipe' | 'ignore';
  /** Extra Node.js flags for the child (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** Receives each output line as it arrives (lines are also kept in `lines`). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

/**
 * Starts a real child process as the platform does: `functions-framework --target=NAME`,
 * listening on loopback only. The one way the local stack, the tests and the benchmarks
 * start a function. Rejects with the process output if it exits or does not get ready
 * within `healthTimeoutMs`.
 */
export async function startFunctionProcess({
  source,
  target,
  env,
  baseEnv = { PATH: process.env.PATH },
  signatureType = 'http',
  waitFor = 'healthy',
  healthTimeoutMs = 20_000,
  stdout = 'pipe',
  nodeArgs = [],
  onLine,
}: StartFunctionOptions): Promise<FunctionProcess> {
  const port = await freePort();
  const lines: string[] = [];
  const args = [LOOPBACK_ONLY_FLAG, ...nodeArgs, frameworkMain, `--target=${target}`, `--source=${source}`, `--signature-type=${signatureType}`, `--port=${port}`];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...baseEnv, METADATA_SERVER_DETECTION: 'none', NODE_ENV: 'production', ...env },
    stdio: ['ignore', stdout, 'pipe'],
  });
  collectLines(child.stdout, (line) => {
    lines.push(line);
    onLine?.(line, 'stdout');
  });
  collectLines(child.stderr, (line) => {
    lines.push(line);
    onLine?.(line, 'stderr');
  });
  const exited = new Promise<FunctionExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() }));
  });
  const url = `http://127.0.0.1:${port}`;
  const handle: FunctionProcess = {
    url,
    port,
    child,
    lines,
    exited,
    stop: async (signal = 'SIGTERM') => {
      const started = performance.now();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      // Cloud Run's grace period: SIGKILL 10 s after SIGTERM.
      const exit = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
      if (exit === 'timeout') {
        child.kill('SIGKILL');
        throw new Error(`process did not exit within 10 s of ${signal}; killed`);
      }
      return { code: exit.code, ms: performance.now() - started };
    },
  };
  if (waitFor !== 'spawned') await waitUntilReady(handle, target, waitFor, healthTimeoutMs);
  return handle;
}

async function waitUntilReady(proc: FunctionProcess, target: string, waitFor: 'healthy' | 'listening', timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null) {
      throw new Error(`${target} exited with ${proc.child.exitCode} during start-up:\n${proc.lines.join('\n')}`);
    }
    try {
      const res = await fetch(`${proc.url}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (waitFor === 'listening' || res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (performance.now() > until) {
      proc.child.kill('SIGKILL');
      await proc.exited;
      throw new Error(`${target} did not become ${waitFor} within ${timeoutMs} ms:\n${proc.lines.join('\n')}`);
    }
    await sleep(50);
  }
}

/** Waits for the process to exit on its own (e.g. a start-up failure); SIGKILLs it after `timeoutMs`. */
export async function waitForExit(proc: FunctionProcess, timeoutMs = 15_000): Promise<number | null> {
  const exit = await Promise.race([proc.exited, sleep(timeoutMs).then(() => 'timeout' as const)]);
  if (exit === 'timeout') {
    proc.child.kill('SIGKILL');
    throw new Error('process did not exit');
  }
  return exit.code;
}

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildFunction } from '../deploy/build.js';
import { freePort } from './postgres.js';

const repoRoot = path.resolve(import.meta.dirname, '..');
/** functions-framework's CLI entry (`build/src/main.js`, beside its package main). */
const frameworkMain = path.join(path.dirname(createRequire(import.meta.url).resolve('@google-cloud/functions-framework')), 'main.js');

/**
 * functions-framework 5 has no `--host`: it calls `server.listen(port)`, which binds every
 * interface. Locally a function must listen on loopback only (PRODUCT.md, "Local stack"), so
 * the child is started with this module preloaded (`--import`), which gives every
 * `listen` that names no host `127.0.0.1`. It is inlined as a `data:` URL so the
 * platform's command line stays `functions-framework --target=NAME` plus one Node flag,
 * with no file to transpile; production never loads it.
 */
const LISTEN_ON_LOOPBACK = `import net from 'node:net';
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  const [first, second] = args;
  if (first !== null && typeof first === 'object') {
    if (first.host === undefined && first.path === undefined) args[0] = { ...first, host: '127.0.0.1' };
  } else if (args.length === 0 || typeof first === 'function') {
    args.unshift(0, '127.0.0.1');
  } else if ((typeof first === 'number' || /^[0-9]+$/.test(String(first))) && typeof second !== 'string') {
    args.splice(1, 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};`;

/** The Node flag that preloads {@link LISTEN_ON_LOOPBACK}. */
export const LOOPBACK_ONLY_FLAG = `--import=data:text/javascript,${encodeURIComponent(LISTEN_ON_LOOPBACK)}`;

export interface FunctionProcess {
  url: string;
  child: ChildProcess;
  /** Every line the process printed (stdout and stderr). */
  lines: string[];
  /** Sends `signal` and resolves with the exit code and how long the exit took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
}

/**
 * Bundles an entry file exactly as `npm run build` does, into a private folder inside the
 * repo so node_modules resolve and parallel test files don't collide.
 */
export async function bundleFunction(entry: string, label: string): Promise<string> {
  const outdir = path.join(repoRoot, 'test/.tmp', `${label}-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(outdir, { recursive: true });
  await buildFunction({ name: label, entry, outdir });
  return outdir;
}

/**
 * Starts a real child process as the platform does: `functions-framework --target=NAME`.
 * Resolves once `/healthz` answers 200 (or rejects with the process output if it exits).
 */
export async function startFunctionProcess({
  source,
  target,
  env,
  signatureType = 'http',
  waitForHealth = true,
  healthTimeoutMs = 20_000,
  onLine,
}: {
  /** Folder of the bundle (`dist/<name>`). */
  source: string;
  /** The functions-framework target (the manifest's entry point). */
  target: string;
  /** The environment; PATH, `METADATA_SERVER_DETECTION=none` and `NODE_ENV=production` are added. */
  env: Record<string, string | undefined>;
  signatureType?: 'http' | 'cloudevent';
  waitForHealth?: boolean;
  healthTimeoutMs?: number;
  /** Receives each output line as it arrives (lines are also kept in `lines`). */
  onLine?: (line: string) => void;
}): Promise<FunctionProcess> {
  const port = await freePort();
  const lines: string[] = [];
  const args = [LOOPBACK_ONLY_FLAG, frameworkMain, `--target=${target}`, `--source=${source}`, `--signature-type=${signatureType}`, `--port=${port}`];
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH, METADATA_SERVER_DETECTION: 'none', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream?.on('data', (chunk: Buffer) => {
      rest += chunk.toString('utf8');
      const parts = rest.split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        if (line.trim() === '') continue;
        lines.push(line);
        onLine?.(line);
      }
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const handle: FunctionProcess = {
    url,
    child,
    lines,
    stop: async (signal = 'SIGTERM') => {
      const started = performance.now();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      // Cloud Run's grace period: SIGKILL 10 s after SIGTERM.
      const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') {
        child.kill('SIGKILL');
        throw new Error(`process did not exit within 10 s of ${signal}; killed`);
      }
      return { code, ms: performance.now() - started };
    },
  };
  if (waitForHealth) {
    const until = Date.now() + healthTimeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`function exited with ${child.exitCode}:\n${lines.join('\n')}`);
      try {
        const res = await fetch(`${url}/healthz`);
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > until) {
        child.kill('SIGKILL');
        throw new Error(`function did not become healthy:\n${lines.join('\n')}`);
      }
      await sleep(50);
    }
  }
  return handle;
}

/** Waits for the process to exit on its own (e.g. a start-up failure). */
export function waitForExit(proc: FunctionProcess, timeoutMs = 15_000): Promise<number | null> {
  if (proc.child.exitCode !== null) return Promise.resolve(proc.child.exitCode);
  return Promise.race([
    new Promise<number | null>((resolve) => proc.child.once('exit', (code) => resolve(code))),
    sleep(timeoutMs).then(() => {
      proc.child.kill('SIGKILL');
      throw new Error('process did not exit');
    }),
  ]);
}

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../freePort.js';
import { collectLines } from '../collectLines.js';
import { EmulatorStartError, EmulatorUnavailableError } from './errors.js';

/** What to install when the Google Cloud CLI or its emulator component is missing. */
export const INSTALL_EMULATOR =
  'Install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install), then `gcloud components install pubsub-emulator beta` ' +
  '(when the CLI came from apt: `apt-get install google-cloud-cli-pubsub-emulator`), and a Java 17 JRE (e.g. `apt-get install openjdk-17-jre-headless`)';

/** What to install when Java is missing (the emulator is a Java program). */
export const INSTALL_JAVA = 'Install a Java 17 JRE (e.g. `apt-get install openjdk-17-jre-headless`, or `brew install openjdk@17`) and put `java` on PATH or set JAVA_HOME';

export interface PubSubEmulatorOptions {
  /** 0 or unset picks a free port on 127.0.0.1. */
  port?: number;
  /** The project the topics and subscriptions live in. @default 'local-project' */
  projectId?: string;
  /** Where gcloud keeps the emulator's `env.yaml`. @default a fresh temporary directory, removed on stop */
  dataDir?: string;
  /** How long to wait for the emulator to answer. @default 60000 (it takes a few seconds; more on a busy machine) */
  readyTimeoutMs?: number;
  /** Receives every line the emulator prints. */
  onLine?: (line: string) => void;
  /** The environment gcloud runs with (PATH and JAVA_HOME are looked up in it). @default process.env */
  env?: NodeJS.ProcessEnv;
}

export interface PubSubEmulator {
  /** `127.0.0.1:PORT`, the value of `PUBSUB_EMULATOR_HOST`. */
  host: string;
  /** `http://127.0.0.1:PORT`, the REST base URL. */
  url: string;
  projectId: string;
  /** The process group of gcloud and the java process it spawned. */
  pgid: number;
  /** Stops the whole process group (SIGTERM, then SIGKILL); idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the official Pub/Sub emulator (`gcloud beta emulators pubsub start`) and waits
 * until it answers. The gcloud wrapper spawns java, so killing the wrapper alone would
 * leave java running: the emulator gets its own process group, and stop (or this
 * process exiting) signals the whole group.
 *
 * Missing tools are found before anything is spawned and reported as an
 * {@link EmulatorUnavailableError} saying what to install.
 */
export async function startPubSubEmulator({
  port = 0,
  projectId = 'local-project',
  dataDir,
  readyTimeoutMs = 60_000,
  onLine,
  env = process.env,
}: PubSubEmulatorOptions = {}): Promise<PubSubEmulator> {
  const gcloud = findGcloud(env);
  const listenPort = port === 0 ? await freePort() : port;
  const ownDataDir = dataDir === undefined ? mkdtempSync(path.join(tmpdir(), 'pubsub-emulator-')) : undefined;
  const host = `127.0.0.1:${listenPort}`;
  const child = spawn(
    gcloud,
    ['beta', 'emulators', 'pubsub', 'start', `--host-port=${host}`, `--project=${projectId}`, `--data-dir=${dataDir ?? ownDataDir}`],
    {
      // Its own process group, so one signal reaches gcloud and java alike — and Ctrl-C
      // in a terminal does not reach it before its owner decides the order of shutdown.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' },
    },
  );
  const pgid = child.pid;
  if (pgid === undefined) {
    const error = await new Promise<unknown>((resolve) => child.once('error', resolve));
    throw new EmulatorUnavailableError(`gcloud could not be started (${gcloud})`, INSTALL_EMULATOR, { cause: error });
  }

  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    collectLines(stream, (line) => {
      tail.push(line);
      if (tail.length > 40) tail.shift();
      onLine?.(line);
    });
  }
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });

  // Last resort when the owner never calls stop: a synchronous kill on the way out.
  const killOnExit = (): void => signalGroup(pgid, 'SIGKILL');
  process.on('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      signalGroup(pgid, 'SIGTERM');
      if (!(await waitUntilGone(pgid, 5000))) {
        signalGroup(pgid, 'SIGKILL');
        await waitUntilGone(pgid, 2000);
      }
      process.removeListener('exit', killOnExit);
      if (ownDataDir !== undefined) rmSync(ownDataDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const url = `http://${host}`;
  const until = performance.now() + readyTimeoutMs;
  for (;;) {
    if (exited) {
      await stop();
      const text = tail.join('\n');
      // gcloud's own words when the component or the beta group is missing.
      if (/not installed|components install|Could not find|java/i.test(text)) {
        throw new EmulatorUnavailableError(`The Pub/Sub emulator exited at start-up:\n${text}\n`, INSTALL_EMULATOR);
      }
      throw new EmulatorStartError('The Pub/Sub emulator exited at start-up', tail);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() > until) {
      await stop();
      throw new EmulatorStartError(`The Pub/Sub emulator did not answer on ${host} within ${readyTimeoutMs} ms`, tail);
    }
    await sleep(100);
  }
  return { host, url, projectId, pgid, stop };
}

/**
 * The gcloud executable, after checking that Java and the emulator component are there
 * (each missing piece is named with what to install). Looks things up without spawning
 * anything, so the local stack can report and carry on at once.
 */
export function findGcloud(env: NodeJS.ProcessEnv = process.env): string {
  const gcloud = onPath('gcloud', env);
  if (gcloud === undefined) throw new EmulatorUnavailableError('gcloud (the Google Cloud CLI) is not on PATH', INSTALL_EMULATOR);
  const javaHome = env.JAVA_HOME;
  const java = javaHome !== undefined && javaHome !== '' && existsSync(path.join(javaHome, 'bin', 'java')) ? path.join(javaHome, 'bin', 'java') : onPath('java', env);
  if (java === undefined) throw new EmulatorUnavailableError('Java is not installed (the Pub/Sub emulator runs on the JVM)', INSTALL_JAVA);
  // `<sdk root>/bin/gcloud`; the component lives in `<sdk root>/platform/pubsub-emulator`.
  // Only judged when the layout is recognisably an SDK root (packagers may differ).
  const sdkRoot = path.dirname(path.dirname(realpathSync(gcloud)));
  if (existsSync(path.join(sdkRoot, 'lib', 'gcloud.py')) && !existsSync(path.join(sdkRoot, 'platform', 'pubsub-emulator'))) {
    throw new EmulatorUnavailableError(`The Pub/Sub emulator component is not installed in ${sdkRoot}`, INSTALL_EMULATOR);
  }
  return gcloud;
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Polls until no live process is left in the group; false when `timeoutMs` passed first. */
async function waitUntilGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (processGroupAlive(pgid)) {
    if (performance.now() > until) return false;
    await sleep(50);
  }
  return true;
}

/**
 * True while any process of group `pgid` is alive. On Linux it reads `/proc`, so an
 * unreaped zombie (java reparented to a container's init that does not reap) does not
 * count as alive; elsewhere it asks the kernel with signal 0.
 */
export function processGroupAlive(pgid: number): boolean {
  if (existsSync('/proc/self/stat')) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue; // exited while we looked
      }
      // `pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
    }
    return false;
  }
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

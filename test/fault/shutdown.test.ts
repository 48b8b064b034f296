import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { contractAt, documentedFetch, isNetworkError } from '../helpers/apiContract.js';
import { bundleFixture, fixtureEntry, startFunctionsFramework, type Bundle, type RunningFunction } from '../fixtures/runtime/functionsFramework.js';
import { countBackendsLike, databaseUrl, ensureFlushTable, eventually, openAdmin, uniqueName } from '../fixtures/runtime/postgres.js';

let admin: pg.Client;
let bundle: Bundle;
let running: RunningFunction | undefined;

beforeAll(async () => {
  admin = await openAdmin();
  await ensureFlushTable(admin);
  bundle = await bundleFixture(fixtureEntry('slow'));
});

afterEach(async () => {
  await running?.kill();
  running = undefined;
});

afterAll(async () => {
  bundle?.remove();
  await admin?.end();
});

/** Starts the `slow` fixture as the platform would, with its own function name. */
async function startSlow(functionName: string, env: Record<string, string> = {}): Promise<RunningFunction> {
  running = await startFunctionsFramework({
    target: 'slow',
    source: bundle.dir,
    env: { DATABASE_URL: databaseUrl(), FUNCTION_NAME: functionName, LOG_LEVEL: 'INFO', SLOW_MS: '1500', ...env },
  });
  // Read while the function serves: answers checked during the drain need no request to it.
  await contractAt(running.url);
  return running;
}

function parsedLines(fn: RunningFunction): Record<string, unknown>[] {
  return fn.stdout.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return []; // the framework's own banner lines
    }
  });
}

/** Resolves with the answer to a request, or with the network error code when there was none. */
async function get(url: string, requestId: string): Promise<{ status: number; body: unknown; retryAfter: string | null } | { error: string }> {
  try {
    const res = await documentedFetch(url, { headers: { 'x-request-id': requestId }, signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: await res.json(), retryAfter: res.headers.get('retry-after') };
  } catch (error) {
    if (!isNetworkError(error)) throw error; // an answer the document does not describe
    const cause = (error as { cause?: { code?: string } }).cause;
    return { error: cause?.code ?? (error as Error).name };
  }
}

describe('graceful shutdown under functions-framework', () => {
  it('on SIGTERM finishes the 5 in-flight requests, flushes buffered writes, closes its connections and exits 0 well inside 10 s', async () => {
    const functionName = uniqueName('slowfn');
    const fn = await startSlow(functionName);
    const ids = Array.from({ length: 5 }, (_, i) => `${functionName}-r${i}`);

    const inFlight = ids.map((id) => get(`${fn.url}/slow`, id));
    const allStarted = await eventually(() => parsedLines(fn).filter((l) => l.message === 'Slow request started').length === 5, {
      timeoutMs: 5000,
    });
    const backendsWhileServing = await countBackendsLike(admin, `${functionName}:%`);
    const sigtermAt = performance.now();
    fn.child.kill('SIGTERM');
    await sleep(150);
    const lateStarted = performance.now();
    const late = await get(`${fn.url}/slow`, `${functionName}-late`);
    const lateMs = performance.now() - lateStarted;
    const answers = await Promise.all(inFlight);
    const exit = await fn.exited;
    const { rows } = await admin.query<{ id: string }>('SELECT id FROM runtime_flush_test WHERE id = ANY($1) ORDER BY id', [ids]);
    const backendsAfterExit = await countBackendsLike(admin, `${functionName}:%`);

    expect(allStarted).toBe(true);
    expect(backendsWhileServing).toBeGreaterThanOrEqual(1);
    expect(answers.map((a) => ('status' in a ? a.status : a.error))).toEqual([200, 200, 200, 200, 200]);
    if ('status' in late) {
      expect(late.status).toBe(503);
      expect(late.retryAfter).toBe('1');
      expect(late.body).toMatchObject({ error: { code: 'UNAVAILABLE' } });
    } else {
      expect(late.error).toBe('ECONNREFUSED');
    }
    expect(lateMs).toBeLessThan(1000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - sigtermAt).toBeLessThan(10_000);
    expect(rows.map((r) => r.id)).toEqual(ids);
    expect(backendsAfterExit).toBe(0);
    const messages = parsedLines(fn).map((l) => l.message);
    expect(messages.indexOf('Flushed buffered writes')).toBeLessThan(messages.indexOf('Shutdown probe closed'));
    const clients = (parsedLines(fn).find((l) => l.message === 'Shutdown probe closed')?.clients ?? []) as { name: string }[];
    expect([...clients].sort((x, y) => x.name.localeCompare(y.name))).toEqual([
      { name: 'postgres', state: 'closed' },
      { name: 'shutdown-probe', state: 'closed' },
    ]);
    expect(parsedLines(fn).find((l) => l.message === 'Shutdown complete')).toMatchObject({ reason: 'SIGTERM', exit_code: 0 });
    expect(fn.stderr.join('\n')).not.toMatch(/Received SIGTERM|Uncaught|Unhandled/);
  });

  it('cancels invocations still running at the drain timeout: they answer 503, flushes still run, connections close, exit 0', async () => {
    const functionName = uniqueName('stuckfn');
    const fn = await startSlow(functionName, { SHUTDOWN_DRAIN_MS: '500' });
    const finishing = get(`${fn.url}/slow`, `${functionName}-done`);
    const stuck = [get(`${fn.url}/stuck`, `${functionName}-s0`), get(`${fn.url}/stuck`, `${functionName}-s1`)];
    const started = await eventually(
      () =>
        parsedLines(fn).filter((l) => l.message === 'Stuck request started').length === 2 &&
        parsedLines(fn).some((l) => l.message === 'Slow request started'),
      { timeoutMs: 5000 },
    );
    const sigtermAt = performance.now();
    fn.child.kill('SIGTERM');
    const answers = await Promise.all(stuck);
    const exit = await fn.exited;
    const done = await finishing;
    const { rows } = await admin.query<{ id: string }>('SELECT id FROM runtime_flush_test WHERE id = $1', [`${functionName}-done`]);

    expect(started).toBe(true);
    for (const answer of answers) {
      expect(answer).toMatchObject({ status: 503, body: { error: { code: 'UNAVAILABLE', message: 'The instance is shutting down' } } });
    }
    // The 1.5 s request ignores its signal and still sleeps when the process exits (~1 s
    // after SIGTERM): its connection closes without an answer — never the framework's 500 —
    // and its write was never buffered, so nothing of it reaches the database.
    expect(done).toEqual({ error: 'UND_ERR_SOCKET' });
    expect(rows).toEqual([]);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - sigtermAt).toBeLessThan(5000);
    expect(await countBackendsLike(admin, `${functionName}:%`)).toBe(0);
    const messages = parsedLines(fn).map((l) => l.message);
    expect(messages).toContain('In-flight invocations did not finish in time; cancelling them');
    expect(parsedLines(fn).find((l) => l.message === 'Shutdown complete')).toMatchObject({ reason: 'SIGTERM', exit_code: 0 });
  });

  it('exits 0 at once on SIGTERM when idle, leaving no connection behind', async () => {
    const functionName = uniqueName('slowfn');
    const fn = await startSlow(functionName);
    await get(`${fn.url}/healthz`, 'warm');

    const sigtermAt = performance.now();
    fn.child.kill('SIGTERM');
    const exit = await fn.exited;

    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - sigtermAt).toBeLessThan(2000);
    expect(await countBackendsLike(admin, `${functionName}:%`)).toBe(0);
  });
});

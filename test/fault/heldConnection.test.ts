/**
 * Shutdown while work holds the only connection (issue 10, item 3): the subscriptions
 * function, started as the platform starts it with a pool of one, has a PATCH blocked on a
 * row lock the test holds from its own connection when SIGTERM arrives. At the drain time
 * its statement is cancelled on the server, the call answers 503, the buffered
 * `last_used_at` writes get the freed connection, the pool closes and the process exits 0
 * inside 10 s — and the lock holder's transaction is untouched.
 */
import path from 'node:path';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../dev/freePort.js';
import { REPO_ROOT } from '../../deploy/paths.js';
import { documentedFetch, isNetworkError } from '../helpers/apiContract.js';
import { bundleFixture, startFunctionsFramework, type Bundle, type RunningFunction } from '../fixtures/runtime/functionsFramework.js';
import { countBackendsLike, databaseUrl, eventually, openAdmin, uniqueName } from '../fixtures/runtime/postgres.js';
import { closeTestDb, createTenant, testDb, type TestTenant } from '../helpers/tenants.js';

let admin: pg.Client;
let holder: pg.Client;
let bundle: Bundle;
let running: RunningFunction | undefined;

beforeAll(async () => {
  admin = await openAdmin();
  holder = await openAdmin();
  bundle = await bundleFixture(path.join(REPO_ROOT, 'functions/subscriptions/index.ts'));
});

afterEach(async () => {
  await running?.kill();
  running = undefined;
});

afterAll(async () => {
  bundle?.remove();
  await holder?.query('ROLLBACK').catch(() => undefined);
  await holder?.end();
  await admin?.end();
  await closeTestDb();
});

function parsedLines(fn: RunningFunction): Record<string, unknown>[] {
  return fn.stdout.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

async function insertSubscription(tenant: TestTenant): Promise<string> {
  const { rows } = await testDb().query<{ id: string }>(
    `INSERT INTO subscriptions (org_id, vendor, plan_name, seats, unit_price_usd, billing_cycle, start_date, status)
     VALUES ($1, 'Slack', 'Pro', 5, 8.75, 'monthly', '2026-01-01', 'active') RETURNING id`,
    [tenant.orgId],
  );
  return (rows[0] as { id: string }).id;
}

type Answer = { status: number; body: any; retryAfter: string | null; at: number } | { error: string; at: number };

async function send(url: string, key: string, init: RequestInit = {}): Promise<Answer> {
  try {
    const res = await documentedFetch(url, {
      ...init,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: kept as text, so a failed expectation shows what came back
    }
    return { status: res.status, body, retryAfter: res.headers.get('retry-after'), at: performance.now() };
  } catch (error) {
    if (!isNetworkError(error)) throw error; // an answer the document does not describe
    const cause = (error as { cause?: { code?: string } }).cause;
    return { error: cause?.code ?? (error as Error).name, at: performance.now() };
  }
}

describe('shutdown while a request holds the only connection', () => {
  it('cancels the blocked statement at the drain time, flushes last_used_at on the freed connection, leaves no backend and exits 0 in < 10 s', async () => {
    const tenant = await createTenant({ slugPrefix: 'held' });
    const subscriptionId = await insertSubscription(tenant);
    const functionName = uniqueName('held');
    running = await startFunctionsFramework({
      target: 'subscriptions',
      source: bundle.dir,
      env: {
        DATABASE_URL: databaseUrl(),
        FUNCTION_NAME: functionName,
        LOG_LEVEL: 'INFO',
        DB_POOL_MAX: '1',
        SHUTDOWN_DRAIN_MS: '6000',
        // Nothing listens there: the audit row of the cancelled PATCH fails fast and is
        // buffered, then dropped (logged) at shutdown — this test is about the database.
        BIGQUERY_API_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
      },
    });
    const fn = running;
    const item = `${fn.url}/v1/subscriptions/${subscriptionId}`;

    // A few authenticated calls: their key's last use is buffered, not yet written.
    for (let i = 0; i < 3; i += 1) expect(await send(item, tenant.apiKey)).toMatchObject({ status: 200 });
    const before = await admin.query<{ last_used_at: Date | null }>('SELECT last_used_at FROM api_keys WHERE id = $1', [tenant.keyId]);
    expect(before.rows[0]?.last_used_at).toBeNull();

    // The test's own transaction locks the row; the function's PATCH waits on it.
    await holder.query('BEGIN');
    const held = await holder.query<{ pid: number; xact_start: Date }>(
      `SELECT pg_backend_pid() AS pid, now() AS xact_start, s.seats FROM subscriptions s WHERE s.id = $1 FOR UPDATE`,
      [subscriptionId],
    );
    const holderPid = held.rows[0]?.pid;
    const blocked = send(item, tenant.apiKey, { method: 'PATCH', body: JSON.stringify({ seats: 9 }) });
    const waiting = await eventually(
      async () => {
        const { rows } = await admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE $1 AND wait_event_type = 'Lock'`,
          [`${functionName}:%`],
        );
        return rows[0]?.n === 1;
      },
      { timeoutMs: 5000 },
    );
    expect(waiting).toBe(true);

    const sigtermAt = performance.now();
    fn.child.kill('SIGTERM');
    const answer = await blocked;
    const exit = await fn.exited;
    const elapsedMs = exit.at - sigtermAt;

    const after = await admin.query<{ last_used_at: Date | null }>('SELECT last_used_at FROM api_keys WHERE id = $1', [tenant.keyId]);
    const backendsLeft = await countBackendsLike(admin, `${functionName}:%`);
    const holderState = await admin.query<{ state: string; xact_start: Date }>('SELECT state, xact_start FROM pg_stat_activity WHERE pid = $1', [holderPid]);
    // The lock holder still reads its locked row in the same transaction, then commits.
    const stillHeld = await holder.query<{ seats: number; pid: number }>('SELECT seats, pg_backend_pid() AS pid FROM subscriptions WHERE id = $1', [subscriptionId]);
    await holder.query('COMMIT');

    if (!('status' in answer) || answer.status !== 503) console.log(fn.stdout.join('\n'), fn.stderr.join('\n'));
    console.log(`held-connection shutdown: exit ${exit.code} after ${Math.round(elapsedMs)} ms; blocked PATCH answered ${'status' in answer ? answer.status : answer.error} ${Math.round(answer.at - sigtermAt)} ms after SIGTERM`);
    expect(answer).toMatchObject({ status: 503, retryAfter: '1', body: { error: { code: 'UNAVAILABLE', message: 'The instance is shutting down' } } });
    // Answered at the drain time, not before it (the statement was waiting) and not at its budget.
    expect(answer.at - sigtermAt).toBeGreaterThanOrEqual(5900);
    expect(answer.at - sigtermAt).toBeLessThan(8000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(elapsedMs).toBeLessThan(10_000);
    expect(after.rows[0]?.last_used_at).toBeInstanceOf(Date);
    expect(backendsLeft).toBe(0);
    expect(holderState.rows[0]).toMatchObject({ state: 'idle in transaction' });
    expect(holderState.rows[0]?.xact_start.getTime()).toBe(held.rows[0]?.xact_start.getTime());
    expect(stillHeld.rows[0]).toEqual({ seats: 5, pid: holderPid });
    const { rows: committed } = await admin.query<{ seats: number }>('SELECT seats FROM subscriptions WHERE id = $1', [subscriptionId]);
    expect(committed).toEqual([{ seats: 5 }]);

    const messages = parsedLines(fn).map((l) => l.message);
    expect(messages).toContain('Asked the server to cancel the statements of checked-out connections');
    expect(messages).not.toContain('A shutdown flush did not finish in time');
    // The cancelled PATCH was authenticated: its audit row was buffered (no wait during
    // shutdown), and BigQuery being unreachable, dropped at the flush with its count.
    expect(parsedLines(fn).find((l) => l.message === 'Dropped audit rows at shutdown: BigQuery did not take them')).toMatchObject({ rows: 1 });
    expect(parsedLines(fn).find((l) => l.message === 'Shutdown complete')).toMatchObject({ reason: 'SIGTERM', exit_code: 0 });
    expect(fn.stderr.join('\n')).not.toMatch(/Received SIGTERM|Uncaught|Unhandled/);
  });
});

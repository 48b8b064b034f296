/**
 * Unknown API keys are cheap (issue 10, item 4): the subscriptions function, started as
 * the platform starts it with a pool of 2, takes a flood of 2,000 random well-formed keys
 * at concurrency 50 while a known tenant keeps reading. The tenant's calls all succeed;
 * the flood gets 401 (looked up, unknown) or 503 with Retry-After (the lookup cap was
 * full), and the function never holds more than its pool's connections.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../dev/freePort.js';
import { REPO_ROOT } from '../../deploy/paths.js';
import { documentedFetch } from '../helpers/apiContract.js';
import { bundleFixture, startFunctionsFramework, type Bundle, type RunningFunction } from '../fixtures/runtime/functionsFramework.js';
import { countBackendsLike, databaseUrl, openAdmin, uniqueName } from '../fixtures/runtime/postgres.js';
import { closeTestDb, createTenant, testDb } from '../helpers/tenants.js';

let admin: pg.Client;
let bundle: Bundle;
let running: RunningFunction | undefined;

beforeAll(async () => {
  admin = await openAdmin();
  bundle = await bundleFixture(path.join(REPO_ROOT, 'functions/subscriptions/index.ts'));
});

afterEach(async () => {
  await running?.kill();
  running = undefined;
});

afterAll(async () => {
  bundle?.remove();
  await admin?.end();
  await closeTestDb();
});

async function timedGet(url: string, key: string): Promise<{ status: number; ms: number; retryAfter: string | null; code: string | undefined }> {
  const started = performance.now();
  const res = await documentedFetch(url, { headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(15_000) });
  const body = (await res.json()) as { error?: { code?: string } };
  return { status: res.status, ms: performance.now() - started, retryAfter: res.headers.get('retry-after'), code: body.error?.code };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** A key of the right shape that no org has. */
function randomKey(): string {
  return `cak_${randomBytes(32).toString('base64url')}`;
}

describe('a flood of unknown API keys', () => {
  it('leaves a known tenant served (all 200) while the flood gets only 401/503 and the pool stays within its size', async () => {
    const tenant = await createTenant({ slugPrefix: 'flood' });
    await testDb().query(
      `INSERT INTO subscriptions (org_id, vendor, plan_name, seats, unit_price_usd, billing_cycle, start_date, status)
       SELECT $1, 'Vendor ' || g, 'Pro', 3, 10, 'monthly', '2026-01-01', 'active' FROM generate_series(1, 20) AS g`,
      [tenant.orgId],
    );
    const functionName = uniqueName('flood');
    running = await startFunctionsFramework({
      target: 'subscriptions',
      source: bundle.dir,
      stdout: 'ignore',
      env: {
        DATABASE_URL: databaseUrl(),
        FUNCTION_NAME: functionName,
        LOG_LEVEL: 'ERROR',
        DB_POOL_MAX: '2',
        BIGQUERY_API_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
      },
    });
    const list = `${running.url}/v1/subscriptions?limit=20`;

    // Warm: the tenant's key is looked up once and cached.
    expect((await timedGet(list, tenant.apiKey)).status).toBe(200);
    const baseline: number[] = [];
    for (let i = 0; i < 200; i += 1) {
      const r = await timedGet(list, tenant.apiKey);
      expect(r.status).toBe(200);
      baseline.push(r.ms);
    }

    // The flood: 2,000 distinct well-formed keys, 50 at a time.
    const floodStatuses = new Map<string, number>();
    let missingRetryAfter = 0;
    let next = 0;
    let flooding = true;
    const floodStarted = performance.now();
    const flood = (async () => {
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (next < 2000) {
            next += 1;
            const r = await timedGet(list, randomKey());
            const label = `${r.status} ${r.code ?? ''}`.trim();
            floodStatuses.set(label, (floodStatuses.get(label) ?? 0) + 1);
            if (r.status === 503 && r.retryAfter !== '1') missingRetryAfter += 1;
          }
        }),
      );
      flooding = false;
    })();
    let floodMs = 0;
    void flood.then(() => {
      floodMs = performance.now() - floodStarted;
    });
    // The known tenant keeps reading while the flood lasts.
    const during: { status: number; ms: number }[] = [];
    let peakBackends = 0;
    const sampler = (async () => {
      while (flooding) {
        peakBackends = Math.max(peakBackends, await countBackendsLike(admin, `${functionName}:%`));
        await sleep(5);
      }
    })();
    while (flooding) during.push(await timedGet(list, tenant.apiKey));
    await Promise.all([flood, sampler]);

    const floodTotal = [...floodStatuses.values()].reduce((a, b) => a + b, 0);
    const lookedUp = floodStatuses.get('401 UNAUTHENTICATED') ?? 0;
    const duringMs = during.map((d) => d.ms);
    console.log(
      `auth flood: tenant baseline p50 ${percentile(baseline, 50).toFixed(1)} ms p95 ${percentile(baseline, 95).toFixed(1)} ms (n=${baseline.length}); ` +
        `during flood p50 ${percentile(duringMs, 50).toFixed(1)} ms p95 ${percentile(duringMs, 95).toFixed(1)} ms (n=${during.length}); ` +
        `flood of 2000 took ${Math.round(floodMs)} ms, answers ${JSON.stringify(Object.fromEntries(floodStatuses))}; peak backends ${peakBackends}`,
    );
    expect(during.length).toBeGreaterThan(0);
    expect(during.filter((d) => d.status !== 200)).toEqual([]);
    expect(floodTotal).toBe(2000);
    expect([...floodStatuses.keys()].every((label) => label === '401 UNAUTHENTICATED' || label === '503 UNAVAILABLE')).toBe(true);
    expect(missingRetryAfter).toBe(0);
    // Every 401 is one lookup (the keys are distinct); the 503s cost none. The pool of 2
    // is never exceeded, so the flood can hold at most one connection (the lookup cap).
    expect(lookedUp).toBeGreaterThan(0);
    expect(peakBackends).toBeLessThanOrEqual(2);
  }, 120_000);
});

import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../deploy/migrate.js';
import { startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import { parseMaintenanceConfig, type MaintenanceConfig } from '../../functions/maintenance/config.js';
import { runMaintenancePass } from '../../functions/maintenance/pass.js';
import { parseWorkerConfig } from '../../functions/pipeline-worker/config.js';
import { runPipeline } from '../../functions/pipeline-worker/worker.js';
import { ensureDatasetDefinition, orgDataset } from '../../shared/analytics/index.js';
import { getBigQuery } from '../../shared/bigquery/index.js';
import { closeClients, resetClients } from '../../shared/clients/index.js';
import { resetRuntimeConfig } from '../../shared/config/index.js';
import { Deadline } from '../../shared/deadline/index.js';
import { resetPubSubConfig, type MessageContext } from '../../shared/pubsub/index.js';
import { createLeakDatabase, type LeakDatabase } from '../fixtures/runtime/leakDatabase.js';
import { startTestPubSub, type TestPubSub } from '../fixtures/pubsub.js';

/*
 * One maintenance pass against a database of its own (a pass acts on every org, so it
 * must not reach into other test files' runs), the real Pub/Sub emulator it re-publishes
 * to, and — to complete a reclaimed run — the worker's own code against the local
 * BigQuery endpoint.
 */

let database: LeakDatabase;
let admin: pg.Pool;
let pubsub: TestPubSub;
let bigquery: BigQueryEndpoint;
let config: MaintenanceConfig;
const savedEnv = { ...process.env };

function context(): MessageContext {
  return { messageId: randomUUID(), publishTime: new Date(), deliveryAttempt: undefined, deadline: new Deadline({ timeoutMs: 60_000, safetyMarginMs: 1_000 }) };
}

async function createOrg(plan = 'free'): Promise<{ id: string; slug: string }> {
  const slug = `mnt_${randomUUID().slice(0, 8)}`;
  const { rows } = await admin.query<{ id: string }>(`INSERT INTO orgs (org_slug, name, plan, admin_email, status) VALUES ($1, $1, $2, 'ops@example.com', 'active') RETURNING id`, [slug, plan]);
  return { id: (rows[0] as { id: string }).id, slug };
}

/** A run as a worker that died left it: running, its lease expired `agoSeconds` ago. */
async function deadWorkerRun(orgId: string, date: string, attempts: number): Promise<string> {
  const { rows } = await admin.query<{ id: string }>(
    `INSERT INTO pipeline_runs (org_id, pipeline_id, run_date, status, attempts, started_at, lease_token, lease_expires_at, lease_message_id)
     VALUES ($1, 'demo_usage_daily', $2, 'running', $3, now() - interval '10 minutes', gen_random_uuid(), now() - interval '1 minute', 'm-dead') RETURNING id`,
    [orgId, date, attempts],
  );
  return (rows[0] as { id: string }).id;
}

async function runRow(id: string): Promise<{ status: string; attempts: number; lease_token: string | null; error: string | null }> {
  const { rows } = await admin.query<{ status: string; attempts: number; lease_token: string | null; error: string | null }>(
    'SELECT status, attempts, lease_token, error FROM pipeline_runs WHERE id = $1',
    [id],
  );
  return rows[0] as { status: string; attempts: number; lease_token: string | null; error: string | null };
}

async function published(): Promise<{ run_id: string }[]> {
  const messages = await pubsub.admin.pull('runs', { maxMessages: 100 });
  return messages.map((m) => JSON.parse(m.data) as { run_id: string });
}

beforeAll(async () => {
  database = await createLeakDatabase('maintenance');
  await migrate(database.url);
  admin = new pg.Pool({ connectionString: database.url, max: 2, application_name: 'vitest-maintenance' });
  [pubsub, bigquery] = await Promise.all([startTestPubSub('maintenance-test'), startBigQueryEndpoint({ port: 0 })]);
  await pubsub.admin.createTopic('pipeline-runs');
  await pubsub.admin.createSubscription('runs', { topic: 'pipeline-runs' });
  Object.assign(process.env, {
    DATABASE_URL: database.url,
    PUBSUB_EMULATOR_HOST: pubsub.host,
    PUBSUB_PROJECT_ID: pubsub.projectId,
    GOOGLE_CLOUD_PROJECT: 'local-project',
    BIGQUERY_API_ENDPOINT: bigquery.url,
    FUNCTION_NAME: 'maintenance',
    DB_POOL_MAX: '2',
  });
  resetRuntimeConfig();
  config = { ...parseMaintenanceConfig(), PIPELINE_MAX_ATTEMPTS: 3, MAINTENANCE_REPUBLISH_AFTER_MS: 60_000 };
}, 120_000);

afterAll(async () => {
  await closeClients();
  await admin?.end();
  await Promise.allSettled([pubsub?.stop(), bigquery?.close()]);
  await database?.drop();
  process.env = savedEnv;
  resetRuntimeConfig();
}, 60_000);

describe('a maintenance pass', () => {
  it('does nothing on an empty database, and says so', async () => {
    const report = await runMaintenancePass(context(), config);

    expect(report).toEqual({
      ran: true,
      leases_reclaimed: 0,
      runs_failed: 0,
      runs_republished: 0,
      publish_failures: 0,
      idempotency_keys_purged: 0,
      leaked_connections_terminated: 0,
    });
  });

  it('re-queues and re-publishes a run whose worker died; the redelivery completes it', async () => {
    const org = await createOrg('free');
    const runId = await deadWorkerRun(org.id, '2026-10-01', 1);
    // The dead run held the free org's only slot: another run of the org may start now.
    const report = await runMaintenancePass(context(), config);

    expect(report).toMatchObject({ leases_reclaimed: 1, runs_failed: 0, runs_republished: 1 });
    expect(await runRow(runId)).toMatchObject({ status: 'queued', attempts: 1, lease_token: null });
    const messages = (await published()).filter((m) => m.run_id === runId);
    expect(messages).toEqual([{ run_id: runId, org_slug: org.slug, pipeline_id: 'demo_usage_daily', date: '2026-10-01' }]);

    await ensureDatasetDefinition(await getBigQuery(), orgDataset(org.slug), { location: 'US' });
    await runPipeline(messages[0] as never, context(), parseWorkerConfig());
    expect(await runRow(runId)).toMatchObject({ status: 'succeeded', attempts: 2, lease_token: null });
  }, 60_000);

  it('fails a dead worker\'s run that used its last attempt, freeing its slot, without re-publishing it', async () => {
    const org = await createOrg();
    const runId = await deadWorkerRun(org.id, '2026-10-02', 3);

    const report = await runMaintenancePass(context(), config);

    expect(report).toMatchObject({ leases_reclaimed: 1, runs_failed: 1, runs_republished: 0 });
    const row = await runRow(runId);
    expect(row).toMatchObject({ status: 'failed', lease_token: null });
    expect(row.error).toMatch(/gave up after 3 attempts/);
    expect((await published()).filter((m) => m.run_id === runId)).toEqual([]);
  });

  it('re-publishes a queued run that never started (the outbox sweep), and leaves a young one alone', async () => {
    const org = await createOrg();
    const { rows } = await admin.query<{ id: string; young: boolean }>(
      `INSERT INTO pipeline_runs (org_id, pipeline_id, run_date, status, created_at)
       VALUES ($1, 'demo_usage_daily', '2026-10-03', 'queued', now() - interval '2 minutes'),
              ($1, 'demo_usage_daily', '2026-10-04', 'queued', now())
       RETURNING id, created_at > now() - interval '1 minute' AS young`,
      [org.id],
    );
    const old = rows.find((r) => !r.young)?.id;
    const young = rows.find((r) => r.young)?.id;

    const report = await runMaintenancePass(context(), config);

    expect(report.runs_republished).toBe(1);
    const ids = (await published()).map((m) => m.run_id);
    expect(ids).toContain(old);
    expect(ids).not.toContain(young);
  });

  it('purges expired idempotency keys in batches and keeps live ones', async () => {
    const org = await createOrg();
    await admin.query(
      `INSERT INTO idempotency_keys (org_id, key, scope, request_hash, expires_at)
       SELECT $1::uuid, 'old-' || i, 's', 'h', now() - interval '1 hour' FROM generate_series(1, 25) i
       UNION ALL SELECT $1::uuid, 'live', 's', 'h', now() + interval '1 hour'`,
      [org.id],
    );

    const report = await runMaintenancePass(context(), { ...config, MAINTENANCE_BATCH_SIZE: 10 });

    expect(report.idempotency_keys_purged).toBe(25);
    const { rows } = await admin.query('SELECT key FROM idempotency_keys WHERE org_id = $1', [org.id]);
    expect(rows).toEqual([{ key: 'live' }]);
  });

  it('acts once when two passes start at once, and not at all while another pass holds the lock', async () => {
    const org = await createOrg();
    const runId = await deadWorkerRun(org.id, '2026-10-05', 1);

    // A pass in progress elsewhere: its lock, held on another connection.
    const holder = await admin.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(hashtextextended('cloudact:maintenance-pass', 0))`);
      const blocked = await runMaintenancePass(context(), config);
      expect(blocked).toMatchObject({ ran: false, leases_reclaimed: 0 });
      expect((await runRow(runId)).status).toBe('running');
    } finally {
      await holder.query(`SELECT pg_advisory_unlock(hashtextextended('cloudact:maintenance-pass', 0))`);
      holder.release();
    }

    const reports = await Promise.all([runMaintenancePass(context(), config), runMaintenancePass(context(), config)]);

    expect(reports.reduce((n, r) => n + r.leases_reclaimed, 0)).toBe(1);
    expect((await published()).filter((m) => m.run_id === runId)).toHaveLength(1);
  });

  it('re-publishes a 500-run backlog of an org that runs one at a time one message per pass, not 500', async () => {
    const org = await createOrg('free');
    await admin.query(
      `INSERT INTO pipeline_runs (org_id, pipeline_id, run_date, status, created_at, published_at)
       SELECT $1, 'demo_usage_daily', DATE '2024-01-01' + i, 'queued', now() - interval '1 hour' + i * interval '1 millisecond', now() - interval '1 hour'
         FROM generate_series(1, 500) i`,
      [org.id],
    );

    const first = await runMaintenancePass(context(), { ...config, MAINTENANCE_BATCH_SIZE: 1000 });
    const firstMessages = (await published()).filter((m) => (m as { org_slug?: string }).org_slug === org.slug);
    const second = await runMaintenancePass(context(), { ...config, MAINTENANCE_BATCH_SIZE: 1000 });
    const secondMessages = (await published()).filter((m) => (m as { org_slug?: string }).org_slug === org.slug);

    // The free plan's one slot: one run per pass (the oldest); the rest wait for its hand-off.
    expect(first.runs_republished).toBe(1);
    expect(firstMessages).toHaveLength(1);
    // Marked published, the first is not stale any more: the next pass takes the next oldest.
    expect(second.runs_republished).toBe(1);
    expect(secondMessages).toHaveLength(1);
    expect(secondMessages[0]?.run_id).not.toBe(firstMessages[0]?.run_id);
    const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pipeline_runs WHERE org_id = $1 AND published_at > now() - interval '1 minute'`, [org.id]);
    expect(rows[0]?.n).toBe(2);
    await admin.query(`UPDATE pipeline_runs SET status = 'failed' WHERE org_id = $1`, [org.id]);
    await published();
  }, 60_000);

  it('fits its budget behind a Pub/Sub that answers slowly: stops the sweep in time, marks exactly what it published, and releases its lock', async () => {
    // 300 orgs with one stale run each (a free slot each): all due for re-publishing.
    const { rows: orgs } = await admin.query<{ id: string }>(
      `INSERT INTO orgs (org_slug, name, plan, admin_email, status)
       SELECT 'slow_' || substr(md5(random()::text), 1, 10), 'slow', 'free', 'ops@example.com', 'active' FROM generate_series(1, 300)
       RETURNING id`,
    );
    await admin.query(
      `INSERT INTO pipeline_runs (org_id, pipeline_id, run_date, status, created_at, published_at)
       SELECT id, 'demo_usage_daily', DATE '2025-01-01', 'queued', now() - interval '1 hour', now() - interval '1 hour' FROM unnest($1::uuid[]) id`,
      [orgs.map((o) => o.id)],
    );
    // Every publish waits 150 ms in a relay in front of the emulator.
    const relay = await startDelayingRelay(pubsub.host, 150);
    process.env.PUBSUB_EMULATOR_HOST = relay.host;
    // The publisher's settings are cached apart from the runtime's: without this reset it kept
    // the emulator's own address and never met the relay (unnoticed while publishing to a
    // freshly started emulator was slow enough on its own).
    resetPubSubConfig();
    resetRuntimeConfig();
    await resetClients();
    try {
      const started = Date.now();
      // A pass with 12 s of deadline: far less than 300 × 150 ms.
      const report = await runMaintenancePass(
        { messageId: randomUUID(), publishTime: new Date(), deliveryAttempt: undefined, deadline: new Deadline({ timeoutMs: 12_000, safetyMarginMs: 1_000 }) },
        { ...config, MAINTENANCE_BATCH_SIZE: 1000 },
      );
      const elapsed = Date.now() - started;

      expect(elapsed).toBeLessThan(11_000);
      expect(report.ran).toBe(true);
      expect(report.runs_republished).toBeGreaterThan(0);
      expect(report.runs_republished).toBeLessThan(300);
      // Exactly the runs it published carry a fresh mark.
      const { rows } = await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pipeline_runs WHERE org_id = ANY($1::uuid[]) AND published_at > now() - interval '1 minute'`,
        [orgs.map((o) => o.id)],
      );
      expect(rows[0]?.n).toBe(report.runs_republished);
      // The lock went with the pass: no session holds it, and the next pass runs.
      const locks = await admin.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted`);
      expect(locks.rows).toEqual([]);
    } finally {
      process.env.PUBSUB_EMULATOR_HOST = pubsub.host;
      resetPubSubConfig();
      resetRuntimeConfig();
      await resetClients();
      relay.close();
      await admin.query(`UPDATE pipeline_runs SET status = 'failed' WHERE org_id = ANY($1::uuid[])`, [orgs.map((o) => o.id)]);
      await published();
    }
    expect((await runMaintenancePass(context(), config)).ran).toBe(true);
  }, 90_000);
});

/** An HTTP relay in front of the emulator that holds every request `delayMs` before passing it on. */
async function startDelayingRelay(target: string, delayMs: number): Promise<{ host: string; close(): void }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      setTimeout(() => {
        const upstream = httpRequest(`http://${target}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        upstream.on('error', () => res.destroy());
        upstream.end(Buffer.concat(chunks));
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

/**
 * Onboarding's BigQuery side, through the orgs function served in-process against the
 * local BigQuery endpoint and the test PostgreSQL: the org's dataset and tables as
 * defined, and an onboarding that fails half-way finished by sending it again.
 */
import { randomBytes } from 'node:crypto';
import { BigQuery, type TableMetadata } from '@google-cloud/bigquery';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { centralDataset, LLM_USAGE_DAILY, ORG_AUDIT_LOGS, ORG_META_PIPELINE_RUNS, type ProvisionStep, type TableDefinition } from '../../shared/analytics/index.js';
import { localBigQueryOptions, startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import type * as ProvisionModule from '../../functions/orgs/provision.js';
import type * as ProvisionBigQueryModule from '../../functions/orgs/provisionBigQuery.js';
import { closeFunctionRuntime, closeTestDb, serveFunction, testDb, type ServedFunction } from '../helpers/tenants.js';
import { documentedFetch } from '../helpers/apiContract.js';

const adminToken = `adm_${randomBytes(24).toString('base64url')}`;
let endpoint: BigQueryEndpoint;
let bq: BigQuery;
let fn: ServedFunction;
let provision: typeof ProvisionModule;
let provisionBigQuery: typeof ProvisionBigQueryModule;

beforeAll(async () => {
  endpoint = await startBigQueryEndpoint({ port: 0 });
  bq = new BigQuery(localBigQueryOptions(endpoint.url));
  // Set before the function module loads: it reads its configuration at import.
  process.env.FUNCTION_NAME = 'orgs';
  process.env.ADMIN_TOKEN = adminToken;
  process.env.BIGQUERY_API_ENDPOINT = endpoint.url;
  await import('../../functions/orgs/index.js');
  provision = await import('../../functions/orgs/provision.js');
  provisionBigQuery = await import('../../functions/orgs/provisionBigQuery.js');
  fn = await serveFunction('orgs');
});

afterEach(() => {
  // Back to what index.ts plugged in (a fresh instance: no memory of the central dataset).
  provision?.setAnalyticsProvisioner(provisionBigQuery.createBigQueryProvisioner());
});

afterAll(async () => {
  await fn?.close();
  await closeTestDb();
  await closeFunctionRuntime();
  await endpoint?.close();
});

const newSlug = (name: string): string => `${name}_${randomBytes(4).toString('hex')}`;

async function onboard(orgSlug: string): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await documentedFetch(`${fn.url}/v1/orgs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ org_slug: orgSlug, name: `Org ${orgSlug}`, admin_email: `${orgSlug}@example.com` }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
}

async function orgRow(orgSlug: string): Promise<{ status: string; bigquery_ready_at: Date | null; keys: number; live_keys: string[] }> {
  const { rows } = await testDb().query<{ status: string; bigquery_ready_at: Date | null; keys: number; live_keys: string[] }>(
    `SELECT o.status, o.bigquery_ready_at, count(k.id)::int AS keys,
            coalesce(array_agg(k.id::text) FILTER (WHERE k.revoked_at IS NULL), '{}') AS live_keys
       FROM orgs o LEFT JOIN api_keys k ON k.org_id = o.id
      WHERE o.org_slug = $1 GROUP BY o.id`,
    [orgSlug],
  );
  const row = rows[0];
  if (row === undefined) throw new Error(`no org ${orgSlug}`);
  return row;
}

async function tableMetadata(datasetId: string, tableId: string): Promise<TableMetadata> {
  return (await bq.dataset(datasetId).table(tableId).getMetadata())[0] as TableMetadata;
}

async function datasetLabels(datasetId: string): Promise<Record<string, string>> {
  return ((await bq.dataset(datasetId).getMetadata())[0] as { labels: Record<string, string> }).labels;
}

describe('onboarding an org', () => {
  it('creates the org dataset labelled {org, managed_by}, its usage table, and the central dataset', async () => {
    const orgSlug = newSlug('acme');

    const res = await onboard(orgSlug);

    expect(res.status).toBe(201);
    expect(res.body.org).toMatchObject({ org_slug: orgSlug, status: 'active' });
    expect(await datasetLabels(`org_${orgSlug}`)).toEqual({ org: orgSlug, managed_by: 'cloudact' });
    expect(await datasetLabels(centralDataset().datasetId)).toEqual({ managed_by: 'cloudact' });
    const row = await orgRow(orgSlug);
    expect(row.status).toBe('active');
    expect(row.bigquery_ready_at).toBeInstanceOf(Date);
  });

  it.each<{ datasetId: (slug: string) => string; def: TableDefinition; labels: (slug: string) => Record<string, string> }>([
    { datasetId: (s) => `org_${s}`, def: LLM_USAGE_DAILY, labels: (s) => ({ org: s, managed_by: 'cloudact' }) },
    { datasetId: () => 'cloudact_meta', def: ORG_AUDIT_LOGS, labels: () => ({ managed_by: 'cloudact' }) },
    { datasetId: () => 'cloudact_meta', def: ORG_META_PIPELINE_RUNS, labels: () => ({ managed_by: 'cloudact' }) },
  ])('leaves $def.tableId partitioned by day, clustered and labelled as defined', async ({ datasetId, def, labels }) => {
    const orgSlug = newSlug('part');
    expect((await onboard(orgSlug)).status).toBe(201);

    const metadata = await tableMetadata(datasetId(orgSlug), def.tableId);

    expect(metadata.timePartitioning).toMatchObject({ type: 'DAY', field: def.partitionField });
    expect(metadata.clustering?.fields).toEqual([...def.clustering]);
    expect(metadata.labels).toEqual(labels(orgSlug));
    expect(metadata.schema?.fields?.map((f) => [f.name, f.mode])).toEqual(def.fields.map((f) => [f.name, f.mode]));
  });

  it('still answers 409 for a slug whose onboarding finished, and leaves its BigQuery resources alone', async () => {
    const orgSlug = newSlug('done');
    expect((await onboard(orgSlug)).status).toBe(201);

    const again = await onboard(orgSlug);

    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('ALREADY_EXISTS');
    expect((await orgRow(orgSlug)).live_keys).toHaveLength(1);
  });
});

describe('an onboarding that fails in BigQuery after the PostgreSQL rows are written', () => {
  it.each<{ name: string; failsAt: (step: ProvisionStep, orgSlug: string) => boolean }>([
    { name: 'the central dataset', failsAt: (s) => s.kind === 'dataset' && s.datasetId === 'cloudact_meta' },
    { name: 'the second central table', failsAt: (s) => s.tableId === 'org_meta_pipeline_runs' },
    { name: 'the org dataset', failsAt: (s, org) => s.kind === 'dataset' && s.datasetId === `org_${org}` },
    { name: 'the org usage table', failsAt: (s, org) => s.kind === 'table' && s.datasetId === `org_${org}` },
  ])('at $name answers 503, keeps the org onboarding, and a second POST completes it with one live key', async ({ failsAt }) => {
    const orgSlug = newSlug('retry');
    let injected = 0;
    provision.setAnalyticsProvisioner(
      provisionBigQuery.createBigQueryProvisioner({
        beforeStep: (step) => {
          if (injected === 0 && failsAt(step, orgSlug)) {
            injected += 1;
            throw Object.assign(new Error('injected: backendError'), { code: 503 });
          }
        },
      }),
    );

    const failed = await onboard(orgSlug);

    expect(injected).toBe(1);
    expect(failed.status).toBe(503);
    expect(failed.body.error.code).toBe('UNAVAILABLE');
    expect(failed.body.error.message).toContain('send the same onboarding request again');
    expect(failed.headers.get('retry-after')).toBe('5');
    expect(await orgRow(orgSlug)).toMatchObject({ status: 'onboarding', bigquery_ready_at: null });

    const retried = await onboard(orgSlug);

    expect(retried.status).toBe(201);
    expect(retried.body.org).toMatchObject({ org_slug: orgSlug, status: 'active' });
    const row = await orgRow(orgSlug);
    expect(row.status).toBe('active');
    // The failed attempt's key (never shown to anyone) is revoked; the retry's is the only live one.
    expect(row.keys).toBe(2);
    expect(row.live_keys).toEqual([retried.body.api_key.id]);
    expect(await datasetLabels(`org_${orgSlug}`)).toEqual({ org: orgSlug, managed_by: 'cloudact' });
    for (const [datasetId, def] of [
      [`org_${orgSlug}`, LLM_USAGE_DAILY],
      ['cloudact_meta', ORG_AUDIT_LOGS],
      ['cloudact_meta', ORG_META_PIPELINE_RUNS],
    ] as const) {
      expect((await tableMetadata(datasetId, def.tableId)).timePartitioning, def.tableId).toMatchObject({ type: 'DAY', field: def.partitionField });
    }
    const me = await documentedFetch(`${fn.url}/v1/orgs/me`, { headers: { authorization: `Bearer ${retried.body.api_key.key as string}` } });
    expect(me.status).toBe(200);
  });

  it('a second identical request while the first is still provisioning gets 409 and cannot revoke the key the first returns', async () => {
    const orgSlug = newSlug('race');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let reached!: () => void;
    const provisioning = new Promise<void>((resolve) => (reached = resolve));
    provision.setAnalyticsProvisioner(
      provisionBigQuery.createBigQueryProvisioner({
        beforeStep: async (step) => {
          if (step.kind === 'dataset' && step.datasetId === `org_${orgSlug}`) {
            reached();
            await held;
          }
        },
      }),
    );

    const first = onboard(orgSlug);
    await provisioning;
    const second = await onboard(orgSlug);
    release();
    const done = await first;

    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('ALREADY_EXISTS');
    expect(second.body.error.message).toContain('being onboarded by another request');
    expect(done.status).toBe(201);
    const row = await orgRow(orgSlug);
    expect(row).toMatchObject({ status: 'active', keys: 1, live_keys: [done.body.api_key.id] });
    const me = await documentedFetch(`${fn.url}/v1/orgs/me`, { headers: { authorization: `Bearer ${done.body.api_key.key as string}` } });
    expect(me.status).toBe(200);
  });

  it('an attempt that died holding its lease (no release) can be finished once the lease has run out', async () => {
    const orgSlug = newSlug('died');
    provision.setAnalyticsProvisioner({
      provision: () => Promise.reject(new Error('the instance died here')),
    });
    expect((await onboard(orgSlug)).status).toBe(500);
    // As if the process had died before releasing: the lease is still held ...
    await testDb().query(`UPDATE orgs SET onboarding_lease_until = now() + interval '1 hour' WHERE org_slug = $1`, [orgSlug]);
    provision.setAnalyticsProvisioner(provisionBigQuery.createBigQueryProvisioner());
    expect((await onboard(orgSlug)).status).toBe(409);
    // ... until it runs out.
    await testDb().query(`UPDATE orgs SET onboarding_lease_until = now() - interval '1 second' WHERE org_slug = $1`, [orgSlug]);
    const finished = await onboard(orgSlug);
    expect(finished.status).toBe(201);
    expect(await orgRow(orgSlug)).toMatchObject({ status: 'active', live_keys: [finished.body.api_key.id] });
  });

  it('answers 500 without internals when an existing table cannot be brought in line, and keeps the org onboarding', async () => {
    const orgSlug = newSlug('drift');
    // A table of the same name made by hand, partitioned on the wrong column.
    await bq.createDataset(`org_${orgSlug}`, { location: 'EU' });
    await bq.dataset(`org_${orgSlug}`).createTable('llm_usage_daily', {
      schema: { fields: LLM_USAGE_DAILY.fields.map((f) => ({ name: f.name, type: f.type, mode: f.mode })) },
      timePartitioning: { type: 'DAY', field: 'loaded_at' },
    });

    const res = await onboard(orgSlug);

    expect(res.status).toBe(500);
    expect(res.body.error).toMatchObject({ code: 'INTERNAL', message: 'Internal error' });
    expect((await orgRow(orgSlug)).status).toBe('onboarding');
  });
});

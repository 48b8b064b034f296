import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localBigQueryOptions, startBigQueryEndpoint } from '../../dev/bigquery/index.js';
import { centralDataset, ensureDatasetDefinition } from '../../shared/analytics/index.js';
import { LocalFileKek } from '../../shared/crypto/index.js';
import { getDb } from '../../shared/db/index.js';
import { parseLogConfig, setLogLevel } from '../../shared/log/index.js';
import { queueRun } from '../../shared/pipelines/index.js';
import { closeFunctionRuntime, closeTestDb, createTenant, serveFunction, testDb, type ServedFunction, type TestTenant } from '../helpers/tenants.js';
import { mulberry32 } from '../../dev/random.js';
import { apiContract, documentedFetch } from '../helpers/apiContract.js';

/*
 * Generated malformed requests for every endpoint of the eight HTTP functions (orgs, quota,
 * pricing, subscriptions, integrations, costs, pipelines, budgets). A small deterministic
 * generator (seeded PRNG, fixed tables) produces at least 300 requests per endpoint; every
 * answer must be a 4xx with the error envelope, and not one may be a 5xx. Each probe is
 * invalid by construction: the generator checks candidate path values against the API's
 * patterns and never sends a well-formed body to an endpoint that would ignore it — so no
 * probe onboards an org, mints or revokes a key, rotates the signing secret, deletes demo
 * data or queues a run (no Pub/Sub publisher is needed: a trigger never gets that far).
 */

const keyDir = mkdtempSync(path.join(tmpdir(), 'cloudact-kek-'));
process.env.KEK_FILE = path.join(keyDir, 'kek.b64');
writeFileSync(process.env.KEK_FILE, LocalFileKek.generateKeyFileContent(), { mode: 0o600 });
delete process.env.KMS_KEY_NAME;
// Orgs reads its BigQuery settings at load, and every authenticated change is audited
// into the central dataset: the local endpoint stands in for BigQuery.
const bigQueryEndpoint = await startBigQueryEndpoint({ port: 0 });
process.env.BIGQUERY_API_ENDPOINT = bigQueryEndpoint.url;
process.env.GOOGLE_CLOUD_PROJECT = 'local-project';
const ADMIN_TOKEN = `adm_${randomBytes(24).toString('base64url')}`;
process.env.ADMIN_TOKEN = ADMIN_TOKEN;
// The valid budget bodies name a loopback webhook, which the local flag allows.
process.env.WEBHOOK_ALLOW_LOOPBACK_HTTP = 'true';
// EU: BIGQUERY_LOCATION's default, where onboarding expects the central dataset to be.
await ensureDatasetDefinition(new BigQuery(localBigQueryOptions(bigQueryEndpoint.url, 'local-project')), centralDataset(), { location: 'EU' });

// All eight in one process. The request gate asks each function's routes in turn and the
// one whose route matches decides the pre-read body limit (shared/http/requestGate.ts), so
// subscriptions' 8 MiB bulk route no longer lends its limit to the others: it is loaded
// last on purpose, and the oversized-body probes (1 MiB + 1 on every other route) prove it.
await import('../../functions/orgs/index.js');
await import('../../functions/quota/index.js');
await import('../../functions/pricing/index.js');
await import('../../functions/integrations/index.js');
await import('../../functions/costs/index.js');
await import('../../functions/pipelines/index.js');
await import('../../functions/budgets/index.js');
await import('../../functions/subscriptions/index.js');

const PER_ENDPOINT = 320;
const MIB = 1024 * 1024;

// --- deterministic randomness ------------------------------------------------------------

type Rng = () => number;

const rngFrom: (seed: number) => Rng = mulberry32;
const pick = <T,>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;
const int = (rng: Rng, min: number, max: number): number => min + Math.floor(rng() * (max - min + 1));
const randomText = (rng: Rng, alphabet: string, min: number, max: number): string =>
  Array.from({ length: int(rng, min, max) }, () => pick(rng, [...alphabet])).join('');

// --- what valid input looks like -----------------------------------------------------------

const PROVIDER = /^[a-z][a-z0-9_-]{1,39}$/;
const MODEL = /^[A-Za-z0-9._:-]{1,100}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
/** Path values a URL parser rewrites (dot segments) are never generated. */
const isDotSegment = (s: string): boolean => s === '.' || s === '..';

const WILD = 'abcxyzABCXYZ0189_-.:~ /?#%&=+,;@!$\'"()*[]{}<>|\\^`üß日本\u0000\t\n';

interface Probe {
  label: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /**
   * Which credential to send: the route's own (the tenant's key, or the admin token on an
   * admin route), none, a malformed one, or the other kind (admin token on a tenant route,
   * tenant key on an admin route).
   */
  auth: 'valid' | 'none' | 'malformed' | 'other';
}

type Json = Record<string, unknown>;

interface FieldSpec {
  name: string;
  /** Values that must be refused for this field (each alone makes the body invalid). */
  invalid: unknown[];
  required: boolean;
  /** Holds a string, so invalid UTF-8 can be placed inside its value. */
  text?: boolean;
  numeric?: boolean;
}

interface BodySpec {
  valid: () => Json;
  fields: FieldSpec[];
  /** Numbers inside nested objects (`prices_per_mtok_usd.input`) that get the raw non-number tokens too. */
  nestedNumbers?: string[][];
  /** PATCH: every field optional, but at least one. */
  partial?: boolean;
  /** The route's body limit. */
  maxBytes: number;
  bulk?: boolean;
  /** The body may be left out (an empty body is valid), so no empty body is sent. */
  optional?: boolean;
}

interface ParamSpec {
  name: string;
  valid: () => string;
  isValid: (s: string) => boolean;
  fixedBad: string[];
}

type QueryKind = 'none' | 'list' | 'spec';

/** A keyset-paged list's query: a genuine cursor, and the parameters beside it. */
interface ListSpec {
  cursor: () => string;
  /** The filter its cursors are bound to: values it refuses, and another valid value. */
  filter?: { name: string; invalid: string[]; other: string };
  /** Further parameters, with the values each refuses. */
  params?: { name: string; invalid: string[] }[];
  /** Queries only this list has, each refused. */
  extra?: () => [label: string, query: string][];
}

/** A query parameter of an endpoint that takes named parameters (not a list). */
interface QueryFieldSpec {
  name: string;
  /** Values its schema refuses. */
  invalid: string[];
  isValid: (s: string) => boolean;
  required: boolean;
}

/** Query kind `spec`: a valid query, and what makes each of its parameters invalid. */
interface QuerySpec {
  valid: Record<string, string>;
  fields: QueryFieldSpec[];
  /** Queries whose every value is valid alone but not together (a range backwards, too long). */
  combos?: [label: string, query: Record<string, string>][];
}

interface Endpoint {
  name: string;
  server: () => ServedFunction;
  method: string;
  /** Path template with `{param}` placeholders. */
  template: string;
  params: ParamSpec[];
  query: QueryKind;
  querySpec?: QuerySpec;
  list?: ListSpec;
  body?: BodySpec;
  /** An admin route (the admin token, not a tenant's key). */
  admin?: boolean;
  /** Probes only this endpoint has, each invalid by construction. */
  extra?: () => Probe[];
}

// --- invalid values per field type ------------------------------------------------------------

const notAString = [1, 0, -1, true, false, null, [], {}, ['x'], { a: 1 }];
/**
 * Prices are decimal strings or numbers read through `String(n)`: plain decimals, 0…1e9,
 * at most 10 decimals. `1e-7` and `0.1 + 0.2` are numbers whose text is an exponent form or
 * has 17 decimals.
 */
const priceInvalid = [
  '', 'NaN', 'Infinity', '1e-7', '1E3', '-1', '-0.5', '0.00000000001', '1,5', ' 1', '1 ', '+1', '.5', '1.', '0x10', '١', '1000000000.0000000001',
  true, false, null, [], {}, [1], -1, -0.0001, -1e-12, 1e-7, 0.1 + 0.2, 2e9, 1e21, Number.MAX_VALUE,
];
const dateInvalid = [
  '2024-02-30', '2023-02-29', '2024-13-01', '2024-00-10', '2024-04-31', '2024-01-32', '24-01-01', '2024/01/01', '2024-1-1',
  '20240101', '2024-01-01T00:00:00Z', '2024-01-01 ', ' 2024-01-01', '', 'yesterday', '0000-01-01', '1899-12-31', '+2024-01-01',
  '２０２４-01-01', 20240101, true, [], {},
];
const textInvalid = (max: number): unknown[] => [
  '', '   ', '\t\n', 'x'.repeat(max + 1), 'é'.repeat(max + 1), 'a\u0000b', '\u0000', 'lone \ud800 surrogate', 'x\udc00', ...notAString,
];

const TIERS = ['standard', 'batch', 'flex', 'priority'];
const tierInvalid = ['Standard', 'BATCH', 'scale', 'default', '', ' batch', 'standard,batch'];
const isRealDay = (s: string): boolean => /^\d{4}-\d{2}-\d{2}$/.test(s) && s >= '1900-01-01' && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s);

/** `prices_per_mtok_usd` values that are refused: not an object, a class missing or unknown, or one bad price in it. */
const pricesInvalid: unknown[] = [
  ...priceInvalid.flatMap((v) => [{ input: v, output: '1' }, { input: '1', output: v }, { input: '1', output: '1', cached_input: v }, { input: '1', output: '1', input_image: v }]),
  'x', 1, null, [], [{ input: '1', output: '1' }], {}, { input: '1' }, { output: '1' }, { input: '1', output: '1', reasoning: '1' },
  { input_per_1k_usd: 1, output_per_1k_usd: 1 },
];

const pricingFields: FieldSpec[] = [
  { name: 'prices_per_mtok_usd', invalid: pricesInvalid, required: true },
  { name: 'match', invalid: ['Exact', 'prefix', 'snapshot', '', 1, true, null, [], {}], required: false, text: true },
  { name: 'service_tier', invalid: [...tierInvalid, 1, true, null, [], {}], required: false, text: true },
  { name: 'effective_from', invalid: [...dateInvalid, null], required: false, text: true },
];

const validPrice = (): Json => ({ match: 'snapshots', service_tier: 'standard', effective_from: '2025-01-01', prices_per_mtok_usd: { input: '0.5', output: 1.5, cached_input: '0.05' } });

const subscriptionFields: FieldSpec[] = [
  { name: 'vendor', invalid: textInvalid(200), required: true, text: true },
  { name: 'plan_name', invalid: textInvalid(200), required: true, text: true },
  { name: 'seats', invalid: [0, -1, 1.5, 0.999, '5', '', true, null, [], {}, 1e12, 2 ** 31, Number.MAX_SAFE_INTEGER, -1e9], required: true, numeric: true },
  { name: 'unit_price_usd', invalid: ['12.5', true, null, [], {}, -0.01, -1e-9, 1e10, 1e300], required: true, numeric: true },
  { name: 'billing_cycle', invalid: ['weekly', 'Monthly', 'ANNUAL', 'yearly', '', ' monthly', 1, true, null, [], {}], required: true, text: true },
  { name: 'start_date', invalid: [...dateInvalid, null], required: true, text: true },
  // null is a valid end_date (open-ended), so it is not in this list.
  { name: 'end_date', invalid: dateInvalid, required: false, text: true },
  { name: 'status', invalid: ['ACTIVE', 'paused', 'deleted', '', 0, true, null, [], {}], required: false, text: true },
];

const validSubscription = (): Json => ({
  vendor: 'Slack',
  plan_name: 'Business+',
  seats: 10,
  unit_price_usd: 12.5,
  billing_cycle: 'monthly',
  start_date: '2024-01-01',
  end_date: '2024-12-31',
  status: 'active',
});

const providerParam = (valid: string): ParamSpec => ({
  name: 'provider',
  valid: () => valid,
  isValid: (s) => PROVIDER.test(s),
  fixedBad: ['A', 'a', 'OpenAI', '1openai', '_x', '-x', 'a'.repeat(41), 'open ai', 'open.ai', 'open:ai', 'ü', 'a\u0000b', 'a/b', 'a?b', 'a#b', '日本', 'x'.repeat(300), 'a%b', ''],
});
const modelParam: ParamSpec = {
  name: 'model',
  valid: () => 'gpt-4o',
  isValid: (s) => MODEL.test(s),
  fixedBad: ['gpt 4o', 'gpt/4o', 'x'.repeat(101), 'ü', 'a\u0000', 'a@b', 'a,b', 'a+b', "a'b", 'a"b', '<script>', 'a;b', 'a%2Fb', '~a~', ''],
};

// --- the other functions' fields -----------------------------------------------------------------

const PIPELINE_ID = /^[a-z][a-z0-9_]{1,60}$/;
const DATE_SHAPE = /^\d{4}-\d{2}-\d{2}$/;
const MS_PER_DAY = 86_400_000;
const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
/** A run date the trigger accepts: yesterday (UTC). */
const yesterday = utcDay(Date.now() - MS_PER_DAY);

const onboardFields: FieldSpec[] = [
  { name: 'org_slug', invalid: ['ab', 'A_bc', '1abc', '_abc', 'ab-c', 'abc def', 'x'.repeat(41), '', 'ü_org', 'abc\u0000', ...notAString], required: true, text: true },
  { name: 'name', invalid: ['', '   ', '\t\n', 'x'.repeat(201), 'é'.repeat(201), 'a\u0000b', 'a\ud800b', ...notAString], required: true, text: true },
  { name: 'plan', invalid: ['Free', 'gold', '', 'pro ', 1, true, null, [], {}], required: false, text: true },
  { name: 'admin_email', invalid: ['', 'x', 'a@', '@example.com', 'a b@example.com', `${'x'.repeat(250)}@example.com`, ...notAString], required: true, text: true },
];

/** A valid onboarding: never sent as it is (no probe onboards an org). */
const validOnboarding = (): Json => ({ org_slug: 'badinput_never_onboarded', name: 'Never onboarded', plan: 'pro', admin_email: 'never@example.com' });

const budgetFields: FieldSpec[] = [
  { name: 'name', invalid: textInvalid(200), required: true, text: true },
  {
    name: 'amount_usd',
    invalid: [0, '0', '0.000000', -1, '-1', -0.5, '1e3', 1e-7, '1.0000001', 1e13, '10000000000000', 1_000_000_000_001, '', 'abc', '1,5', ' 1', '.5', '1.', 'NaN', true, null, [], {}, [1]],
    required: true,
    numeric: true,
  },
  { name: 'period', invalid: ['week', 'Month', 'MONTH', '', 'month ', 'month,year', 1, true, null, [], {}], required: true, text: true },
  {
    name: 'scope',
    invalid: [
      'x', 1, null, [], [{}], { team: 'x' }, { category: 'all' }, { category: 'LLM' }, { provider: '' }, { provider: '-x' }, { provider: 'x'.repeat(41) },
      { model: 'x'.repeat(101) }, { model: 'a\u0000' }, { vendor: '' }, { vendor: 'a\u0000b' }, { vendor: 'x'.repeat(201) }, { provider: 1 },
    ],
    required: false,
  },
  {
    name: 'thresholds_pct',
    invalid: [[], [0], [1001], [50, 50], [1.5], ['50'], Array.from({ length: 11 }, (_, i) => i + 1), 'x', 50, null, {}, [-1], [null], [true]],
    required: false,
  },
  { name: 'forecast', invalid: ['true', 1, 0, null, 'yes', [], {}, [true]], required: false },
  {
    name: 'webhook_url',
    // Every one refused by its form alone: none needs a DNS lookup (the machine is offline).
    invalid: [
      '', 'x'.repeat(2049), 'not a url', 'ftp://127.0.0.1/hook', 'http://10.0.0.1/hook', 'http://localhost:9/hook', 'https://user:pw@example.com/hook',
      'https://10.0.0.1/hook', 'https://169.254.169.254/computeMetadata/v1/', 'https://[::1]/hook', 'https://metadata.google.internal/', 'https://192.168.1.1/x',
      1, true, null, [], {},
    ],
    required: true,
    text: true,
  },
];

const validBudget = (): Json => ({ name: 'Budget', amount_usd: '99.95', period: 'quarter', scope: { category: 'llm' }, thresholds_pct: [50, 100], forecast: false, webhook_url: 'http://127.0.0.1:9/hook' });

/** `date` of a run: malformed, not a real day, in the future, or more than 366 days back. */
const runDateInvalid = [...dateInvalid, null, utcDay(Date.now() + 2 * MS_PER_DAY), '2099-01-01', utcDay(Date.now() - 400 * MS_PER_DAY), '2020-01-01'];

const costsDates = dateInvalid.filter((d): d is string => typeof d === 'string');
const GROUP_BY = ['day', 'category', 'provider', 'model', 'service_tier', 'project', 'vendor', 'source'];
/** A range every probe of a costs query starts from, and the ranges no value alone breaks. */
const costsRange = { from: '2024-01-01', to: '2024-01-31' };
const badRanges: [string, Record<string, string>][] = [
  ['from after to', { from: '2024-02-01', to: '2024-01-31' }],
  ['367 days, counting both ends', { from: '2023-01-01', to: '2024-01-02' }],
  ['ten years', { from: '2014-01-01', to: '2024-01-01' }],
];

const rangeFields = (): QueryFieldSpec[] => [
  { name: 'from', invalid: costsDates, isValid: (s) => DATE_SHAPE.test(s), required: true },
  { name: 'to', invalid: costsDates, isValid: (s) => DATE_SHAPE.test(s), required: true },
];

const pipelineIdParam: ParamSpec = {
  name: 'pipeline_id',
  valid: () => 'demo_usage_daily',
  isValid: (s) => PIPELINE_ID.test(s),
  fixedBad: ['A', 'a', 'Demo_usage_daily', '1demo', '_demo', 'demo-usage-daily', 'demo usage', 'demo.usage', 'x'.repeat(62), 'ü', 'a\u0000b', 'a/b', 'a?b', 'a#b', 'a%b', '日本'],
};

// --- the tenant, and ids that exist --------------------------------------------------------------

const served: Record<string, ServedFunction> = {};
const server = (name: string) => (): ServedFunction => served[name] as ServedFunction;
let tenant: TestTenant;
let subscriptionId = '';
let budgetId = '';
let runId = '';
/** A second key of the tenant's, aimed at by the revoke probes (never the one it calls with). */
let extraKeyId = '';
const cursors: Record<string, string> = {};

const BAD_UUIDS = [
  'abc', '1', 'null', 'undefined', 'bulk2', '00000000-0000-0000-0000-00000000000g', '0000000000000000000000000000000',
  '{00000000-0000-4000-8000-000000000000}', '00000000-0000-4000-8000-0000000000000', '00000000-0000-4000-8000-00000000000',
  '00000000000040008000000000000000', ' 00000000-0000-4000-8000-000000000000', '00000000-0000-4000-8000-000000000000 ',
  'x'.repeat(1000), "1' OR '1'='1",
];

/** A UUID path parameter whose valid value is a row the tenant owns. */
const uuidParam = (name: string, valid: () => string): ParamSpec => ({ name, valid, isValid: (s) => UUID.test(s), fixedBad: BAD_UUIDS });
const idParam = uuidParam('id', () => subscriptionId);
const budgetIdParam = uuidParam('id', () => budgetId);

const endpoints: Endpoint[] = [
  // orgs
  {
    name: 'POST /v1/orgs',
    server: server('orgs'),
    method: 'POST',
    template: '/v1/orgs',
    params: [],
    query: 'none',
    admin: true,
    body: { valid: validOnboarding, fields: onboardFields, maxBytes: MIB },
  },
  { name: 'GET /v1/orgs/me', server: server('orgs'), method: 'GET', template: '/v1/orgs/me', params: [], query: 'none' },
  { name: 'GET /v1/orgs/me/api-keys', server: server('orgs'), method: 'GET', template: '/v1/orgs/me/api-keys', params: [], query: 'none' },
  { name: 'POST /v1/orgs/me/api-keys', server: server('orgs'), method: 'POST', template: '/v1/orgs/me/api-keys', params: [], query: 'none' },
  {
    name: 'DELETE /v1/orgs/me/api-keys/{id}',
    server: server('orgs'),
    method: 'DELETE',
    template: '/v1/orgs/me/api-keys/{id}',
    params: [uuidParam('id', () => extraKeyId)],
    query: 'none',
  },
  // quota
  { name: 'GET /v1/quota', server: server('quota'), method: 'GET', template: '/v1/quota', params: [], query: 'none' },
  // pricing
  {
    name: 'GET /v1/pricing',
    server: server('pricing'),
    method: 'GET',
    template: '/v1/pricing',
    params: [],
    query: 'list',
    list: {
      cursor: () => cursors.pricing as string,
      filter: { name: 'provider', invalid: ['OpenAI', 'a', '1x', 'x'.repeat(41), 'a b', '', 'ü'], other: 'zz' },
      params: [
        { name: 'model', invalid: ['gpt/4o', 'gpt 4o', '', 'x'.repeat(101), 'ü'] },
        { name: 'source', invalid: ['ORG', 'both', '', 'org,catalogue', 'none'] },
      ],
      extra: () => [
        ['repeated source', 'source=org&source=catalogue'],
        ['cursor from another source', `source=org&cursor=${encodeURIComponent(cursors.pricing as string)}`],
      ],
    },
  },
  {
    name: 'GET /v1/pricing/resolve',
    server: server('pricing'),
    method: 'GET',
    template: '/v1/pricing/resolve',
    params: [],
    query: 'spec',
    querySpec: {
      valid: { provider: 'openai', model: 'gpt-4o-2024-08-06', service_tier: 'batch', date: '2025-01-01' },
      fields: [
        { name: 'provider', invalid: providerParam('openai').fixedBad, isValid: (s) => PROVIDER.test(s), required: true },
        { name: 'model', invalid: modelParam.fixedBad, isValid: (s) => MODEL.test(s), required: true },
        { name: 'service_tier', invalid: tierInvalid, isValid: (s) => TIERS.includes(s), required: false },
        { name: 'date', invalid: dateInvalid.filter((d): d is string => typeof d === 'string'), isValid: isRealDay, required: true },
      ],
    },
  },
  {
    name: 'PUT /v1/pricing/{provider}/{model}',
    server: server('pricing'),
    method: 'PUT',
    template: '/v1/pricing/{provider}/{model}',
    params: [providerParam('openai'), modelParam],
    query: 'none',
    body: { valid: validPrice, fields: pricingFields, nestedNumbers: [['prices_per_mtok_usd', 'input'], ['prices_per_mtok_usd', 'output'], ['prices_per_mtok_usd', 'cache_write_1h']], maxBytes: MIB },
  },
  {
    name: 'DELETE /v1/pricing/{provider}/{model}',
    server: server('pricing'),
    method: 'DELETE',
    template: '/v1/pricing/{provider}/{model}',
    params: [providerParam('openai'), modelParam],
    query: 'spec',
    querySpec: {
      valid: { service_tier: 'batch', effective_from: '2025-01-01' },
      fields: [
        { name: 'service_tier', invalid: tierInvalid, isValid: (s) => TIERS.includes(s), required: false },
        { name: 'effective_from', invalid: dateInvalid.filter((d): d is string => typeof d === 'string'), isValid: isRealDay, required: false },
      ],
    },
  },
  // subscriptions
  {
    name: 'GET /v1/subscriptions',
    server: server('subscriptions'),
    method: 'GET',
    template: '/v1/subscriptions',
    params: [],
    query: 'list',
    list: { cursor: () => cursors.subscriptions as string, filter: { name: 'status', invalid: ['ACTIVE', 'paused', '', 'active,cancelled', 'x'.repeat(500)], other: 'cancelled' } },
  },
  {
    name: 'POST /v1/subscriptions',
    server: server('subscriptions'),
    method: 'POST',
    template: '/v1/subscriptions',
    params: [],
    query: 'none',
    body: { valid: validSubscription, fields: subscriptionFields, maxBytes: MIB },
  },
  {
    name: 'POST /v1/subscriptions/bulk',
    server: server('subscriptions'),
    method: 'POST',
    template: '/v1/subscriptions/bulk',
    params: [],
    query: 'none',
    body: { valid: () => ({ items: [validSubscription(), validSubscription()] }), fields: subscriptionFields, maxBytes: 8 * MIB, bulk: true },
  },
  { name: 'GET /v1/subscriptions/{id}', server: server('subscriptions'), method: 'GET', template: '/v1/subscriptions/{id}', params: [idParam], query: 'none' },
  {
    name: 'PATCH /v1/subscriptions/{id}',
    server: server('subscriptions'),
    method: 'PATCH',
    template: '/v1/subscriptions/{id}',
    params: [idParam],
    query: 'none',
    body: { valid: () => ({ seats: 12 }), fields: subscriptionFields, partial: true, maxBytes: MIB },
  },
  { name: 'DELETE /v1/subscriptions/{id}', server: server('subscriptions'), method: 'DELETE', template: '/v1/subscriptions/{id}', params: [idParam], query: 'none' },
  // integrations
  {
    name: 'PUT /v1/integrations/{provider}',
    server: server('integrations'),
    method: 'PUT',
    template: '/v1/integrations/{provider}',
    params: [providerParam('openai')],
    query: 'none',
    body: {
      valid: () => ({ credential: 'CRED_badinput_0123456789abcdef' }),
      fields: [
        { name: 'credential', invalid: ['', 'x'.repeat(4097), 'é'.repeat(4097), 'a\u0000b', 'x\ud800y', ...notAString], required: true, text: true },
        { name: 'validate', invalid: ['true', 'false', 1, 0, null, 'yes', [], {}, [true]], required: false },
      ],
      maxBytes: MIB,
    },
  },
  { name: 'GET /v1/integrations', server: server('integrations'), method: 'GET', template: '/v1/integrations', params: [], query: 'none' },
  {
    name: 'DELETE /v1/integrations/{provider}',
    server: server('integrations'),
    method: 'DELETE',
    template: '/v1/integrations/{provider}',
    params: [providerParam('openai')],
    query: 'none',
  },
  // costs
  {
    name: 'GET /v1/costs',
    server: server('costs'),
    method: 'GET',
    template: '/v1/costs',
    params: [],
    query: 'spec',
    querySpec: {
      valid: { ...costsRange, group_by: 'provider', category: 'llm' },
      fields: [
        ...rangeFields(),
        { name: 'group_by', invalid: ['Day', 'week', '', 'provider,model', 'cost', 'day '], isValid: (s) => GROUP_BY.includes(s), required: false },
        { name: 'category', invalid: ['LLM', 'other', '', 'all,llm', 'none'], isValid: (s) => ['all', 'llm', 'saas'].includes(s), required: false },
      ],
      combos: badRanges.map(([label, range]) => [label, { ...range, group_by: 'provider', category: 'llm' }]),
    },
  },
  {
    name: 'GET /v1/costs/export',
    server: server('costs'),
    method: 'GET',
    template: '/v1/costs/export',
    params: [],
    query: 'spec',
    querySpec: {
      valid: { ...costsRange, format: 'jsonl' },
      fields: [...rangeFields(), { name: 'format', invalid: ['CSV', 'json', 'xlsx', '', 'csv,jsonl', 'ndjson'], isValid: (s) => s === 'csv' || s === 'jsonl', required: false }],
      combos: badRanges.map(([label, range]) => [label, { ...range, format: 'jsonl' }]),
    },
  },
  // pipelines
  { name: 'DELETE /v1/pipelines/demo_usage_daily/data', server: server('pipelines'), method: 'DELETE', template: '/v1/pipelines/demo_usage_daily/data', params: [], query: 'none' },
  {
    name: 'POST /v1/pipelines/{pipeline_id}/runs',
    server: server('pipelines'),
    method: 'POST',
    template: '/v1/pipelines/{pipeline_id}/runs',
    params: [pipelineIdParam],
    query: 'none',
    body: { valid: () => ({ date: yesterday }), fields: [{ name: 'date', invalid: runDateInvalid, required: false, text: true }], maxBytes: MIB, optional: true },
    // A valid trigger with an Idempotency-Key that is not 1–200 printable ASCII characters:
    // the key is checked before anything is queued.
    extra: () =>
      ['', 'x'.repeat(201), 'ü', 'key\u00ff', `${'k'.repeat(199)}é`].map((key) =>
        probe(endpoints.find((e) => e.name === 'POST /v1/pipelines/{pipeline_id}/runs') as Endpoint, `Idempotency-Key ${JSON.stringify(key).slice(0, 30)}`, {
          headers: { ...JSON_HEADERS, 'idempotency-key': key },
          body: json({ date: yesterday }),
        }),
      ),
  },
  { name: 'GET /v1/pipelines/runs/{run_id}', server: server('pipelines'), method: 'GET', template: '/v1/pipelines/runs/{run_id}', params: [uuidParam('run_id', () => runId)], query: 'none' },
  {
    name: 'GET /v1/pipelines/runs',
    server: server('pipelines'),
    method: 'GET',
    template: '/v1/pipelines/runs',
    params: [],
    query: 'list',
    list: {
      cursor: () => cursors.runs as string,
      filter: { name: 'status', invalid: ['QUEUED', 'done', '', 'queued,failed', 'x'.repeat(300)], other: 'failed' },
      params: [{ name: 'pipeline_id', invalid: pipelineIdParam.fixedBad.filter((s) => !PIPELINE_ID.test(s)) }],
    },
  },
  // budgets and alerts
  {
    name: 'GET /v1/budgets',
    server: server('budgets'),
    method: 'GET',
    template: '/v1/budgets',
    params: [],
    query: 'list',
    list: { cursor: () => cursors.budgets as string },
  },
  {
    name: 'POST /v1/budgets',
    server: server('budgets'),
    method: 'POST',
    template: '/v1/budgets',
    params: [],
    query: 'none',
    body: { valid: validBudget, fields: budgetFields, maxBytes: MIB },
  },
  { name: 'GET /v1/budgets/{id}', server: server('budgets'), method: 'GET', template: '/v1/budgets/{id}', params: [budgetIdParam], query: 'none' },
  {
    name: 'PATCH /v1/budgets/{id}',
    server: server('budgets'),
    method: 'PATCH',
    template: '/v1/budgets/{id}',
    params: [budgetIdParam],
    query: 'none',
    body: { valid: () => ({ amount_usd: 250 }), fields: budgetFields, partial: true, maxBytes: MIB },
  },
  { name: 'DELETE /v1/budgets/{id}', server: server('budgets'), method: 'DELETE', template: '/v1/budgets/{id}', params: [budgetIdParam], query: 'none' },
  { name: 'GET /v1/budgets/{id}/status', server: server('budgets'), method: 'GET', template: '/v1/budgets/{id}/status', params: [budgetIdParam], query: 'none' },
  {
    name: 'GET /v1/alerts',
    server: server('budgets'),
    method: 'GET',
    template: '/v1/alerts',
    params: [],
    query: 'list',
    list: {
      cursor: () => cursors.alerts as string,
      filter: { name: 'status', invalid: ['PENDING', 'sent', '', 'pending,delivered', 'x'.repeat(300)], other: 'delivered' },
      params: [{ name: 'budget_id', invalid: BAD_UUIDS.slice(0, 12) }],
    },
  },
  { name: 'POST /v1/alerts/signing-secret', server: server('budgets'), method: 'POST', template: '/v1/alerts/signing-secret', params: [], query: 'none' },
];

// --- building requests -------------------------------------------------------------------

function pathOf(endpoint: Endpoint, overrides: Record<string, string> = {}): string {
  let out = endpoint.template;
  for (const param of endpoint.params) out = out.replace(`{${param.name}}`, encodeURIComponent(overrides[param.name] ?? param.valid()));
  return out;
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');
const JSON_HEADERS = { 'content-type': 'application/json' };

function probe(endpoint: Endpoint, label: string, parts: Partial<Omit<Probe, 'label' | 'method'>> = {}): Probe {
  const needsBody = endpoint.body !== undefined && parts.body === undefined && parts.headers === undefined;
  return {
    label,
    method: endpoint.method,
    path: parts.path ?? pathOf(endpoint),
    // A probe aimed at the path or query of a body endpoint carries a valid body, so the
    // path or query is the only thing wrong with it.
    headers: parts.headers ?? (needsBody ? JSON_HEADERS : {}),
    body: parts.body ?? (needsBody ? json(endpoint.body?.valid()) : undefined),
    auth: parts.auth ?? 'valid',
  };
}

/** A random value for a path parameter that its pattern refuses. */
function badParamValue(rng: Rng, param: ParamSpec): string {
  for (;;) {
    // Never empty: an empty last segment is another route (`/v1/subscriptions/` is the list).
    const candidate = randomText(rng, WILD, 1, rng() < 0.1 ? 400 : 30);
    if (!param.isValid(candidate) && !isDotSegment(candidate)) return candidate;
  }
}

function pathProbes(endpoint: Endpoint, rng: Rng, randomCount: number): Probe[] {
  const out: Probe[] = [];
  for (const param of endpoint.params) {
    for (const bad of param.fixedBad) out.push(probe(endpoint, `bad ${param.name} ${JSON.stringify(bad).slice(0, 40)}`, { path: pathOf(endpoint, { [param.name]: bad }) }));
    for (let i = 0; i < randomCount; i += 1) {
      const bad = badParamValue(rng, param);
      out.push(probe(endpoint, `random bad ${param.name} ${JSON.stringify(bad).slice(0, 40)}`, { path: pathOf(endpoint, { [param.name]: bad }) }));
    }
  }
  return out;
}

const BAD_LIMITS = ['0', '-1', '501', '1000', '999999', '1e2', '1.5', '10.0', 'abc', '', ' 5', '5 ', '+5', '0x10', '٥', '5,6', 'Infinity', 'NaN', 'null', '10000000000'];

function tamper(rng: Rng, cursor: string): string {
  for (;;) {
    const i = int(rng, 0, cursor.length - 1);
    const replacement = pick(rng, [...'ABCDEFabcdef0123456789-_']);
    const changed = `${cursor.slice(0, i)}${replacement}${cursor.slice(i + 1)}`;
    if (changed !== cursor) return changed;
  }
}

function queryProbes(endpoint: Endpoint, rng: Rng, randomCount: number): Probe[] {
  const out: Probe[] = [];
  const base = pathOf(endpoint);
  const withQuery = (label: string, query: string): void => void out.push(probe(endpoint, label, { path: `${base}?${query}` }));
  if (endpoint.query === 'none') {
    for (const q of ['limit=5', 'cursor=abc', 'x=1', 'provider=openai', 'status=active', 'a[]=1', 'a[b]=1', 'validate=true', 'debug', '=1']) withQuery(`unexpected query ${q}`, q);
    for (let i = 0; i < randomCount; i += 1) {
      const name = randomText(rng, 'abcdefghijklmnopqrstuvwxyz_', 1, 12);
      withQuery(`random query parameter ${name}`, `${encodeURIComponent(name)}=${encodeURIComponent(randomText(rng, WILD, 0, 20))}`);
    }
    return out;
  }
  if (endpoint.query === 'spec') return specQueryProbes(endpoint, rng, randomCount);
  const list = endpoint.list;
  if (list === undefined) throw new Error(`${endpoint.name}: query 'list' needs a list spec`);
  const realCursor = list.cursor();
  for (const limit of BAD_LIMITS) withQuery(`bad limit ${JSON.stringify(limit)}`, `limit=${encodeURIComponent(limit)}`);
  withQuery('repeated limit', 'limit=5&limit=6');
  withQuery('limit as an array', 'limit[]=5');
  for (const param of [...(list.filter === undefined ? [] : [list.filter]), ...(list.params ?? [])]) {
    for (const bad of param.invalid) withQuery(`bad ${param.name} ${JSON.stringify(bad).slice(0, 30)}`, `${param.name}=${encodeURIComponent(bad)}`);
    withQuery(`repeated ${param.name}`, `${param.name}=a&${param.name}=b`);
  }
  for (const [label, query] of list.extra?.() ?? []) withQuery(label, query);
  for (const cursor of ['', 'abc', 'v1', 'v1..', 'v1.x.y', 'v2.WyJhIl0.AAAAAAAAAAAAAAAAAAAAAA', 'v1.WyJhIl0.AAAAAAAAAAAAAAAAAAAAAA', 'x'.repeat(3000), `${realCursor}x`, realCursor.slice(0, -1), ` ${realCursor}`]) {
    withQuery(`bad cursor ${JSON.stringify(cursor).slice(0, 30)}`, `cursor=${encodeURIComponent(cursor)}`);
  }
  // A genuine cursor is bound to its filter: with another filter it is refused.
  if (list.filter !== undefined) withQuery('cursor from another filter', `${list.filter.name}=${list.filter.other}&cursor=${encodeURIComponent(realCursor)}`);
  for (const q of ['sort=model', 'offset=10', 'page=2', 'x=1', 'limit=5&x=1', 'org_id=1']) withQuery(`unknown parameter ${q}`, q);
  // Broken percent-encoding in the query (the parser keeps such values as they are).
  for (const q of ['limit=%ZZ', 'cursor=%E0%A4%A', `${list.filter?.name ?? 'cursor'}=%`, 'limit=%35%']) withQuery(`raw query ${q}`, q);
  for (let i = 0; i < randomCount; i += 1) {
    const kind = int(rng, 0, 3);
    if (kind === 0) withQuery('random tampered cursor', `cursor=${encodeURIComponent(tamper(rng, realCursor))}`);
    else if (kind === 1) withQuery('random cursor garbage', `cursor=${encodeURIComponent(`v1.${randomText(rng, 'A-Za-z09_', 1, 60)}.${randomText(rng, 'A-Za-z09_', 22, 22)}`)}`);
    else if (kind === 2) withQuery('random large limit', `limit=${int(rng, 501, 10_000_000)}`);
    else withQuery('random non-numeric limit', `limit=${encodeURIComponent(randomText(rng, 'abc-+. e,', 1, 8))}`);
  }
  return out;
}

/**
 * Query probes of an endpoint with named parameters: each parameter bad in turn (the others
 * valid), a required one missing, repeated, unknown parameters beside a valid query, then
 * `randomCount` random bad values.
 */
function specQueryProbes(endpoint: Endpoint, rng: Rng, randomCount: number): Probe[] {
  const spec = endpoint.querySpec;
  if (spec === undefined) throw new Error(`${endpoint.name}: query 'spec' needs a querySpec`);
  const out: Probe[] = [];
  const base = pathOf(endpoint);
  const qs = (query: Record<string, string>): string => Object.entries(query).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  const withQuery = (label: string, query: string): void => void out.push(probe(endpoint, label, { path: `${base}?${query}` }));
  for (const field of spec.fields) {
    for (const bad of field.invalid) withQuery(`bad ${field.name} ${JSON.stringify(bad).slice(0, 30)}`, qs({ ...spec.valid, [field.name]: bad }));
    if (field.required) {
      const rest = { ...spec.valid };
      delete rest[field.name];
      withQuery(`missing ${field.name}`, qs(rest));
    }
    withQuery(`repeated ${field.name}`, `${qs(spec.valid)}&${field.name}=${encodeURIComponent(spec.valid[field.name] ?? 'x')}`);
    withQuery(`${field.name} as an array`, `${qs(spec.valid)}&${field.name}[]=x`);
  }
  for (const q of ['limit=5', 'cursor=abc', 'x=1', 'source=org', 'tier=batch', 'a[b]=1', 'debug']) withQuery(`unknown parameter ${q}`, `${qs(spec.valid)}&${q}`);
  for (const [label, query] of spec.combos ?? []) withQuery(label, qs(query));
  for (let i = 0; i < randomCount; i += 1) {
    const field = pick(rng, spec.fields);
    let bad = randomText(rng, WILD, 0, rng() < 0.1 ? 300 : 30);
    while (field.isValid(bad)) bad = randomText(rng, WILD, 0, 30);
    withQuery(`random bad ${field.name} ${JSON.stringify(bad).slice(0, 30)}`, qs({ ...spec.valid, [field.name]: bad }));
  }
  return out;
}

/** Raw JSON tokens that are not finite JSON numbers (or not JSON at all). */
const RAW_NUMBERS = ['1e309', '-1e309', '1e400', 'NaN', 'Infinity', '-Infinity', '01', '.5', '+1', '0x1', '1e', '-', '1_000', '--1'];

function bodyProbes(endpoint: Endpoint, rng: Rng, randomCount: number): Probe[] {
  const spec = endpoint.body;
  if (spec === undefined) return noBodyProbes(endpoint);
  const out: Probe[] = [];
  /** Wraps an item for bulk (at a random index among valid ones); a plain body otherwise. */
  const wrap = (item: Json): Json => {
    if (!spec.bulk) return item;
    const items: unknown[] = Array.from({ length: int(rng, 1, 20) }, () => validSubscription());
    items.splice(int(rng, 0, items.length), 0, item);
    return { items };
  };
  const base = (): Json => (spec.bulk ? validSubscription() : spec.valid());
  const send = (label: string, body: Buffer, headers: Record<string, string> = JSON_HEADERS): void => void out.push(probe(endpoint, label, { body, headers }));

  for (const field of spec.fields) {
    for (const value of field.invalid) send(`${field.name} = ${JSON.stringify(value)?.slice(0, 40)}`, json(wrap({ ...base(), [field.name]: value })));
    if (field.required && !spec.partial) {
      const item = base();
      delete item[field.name];
      send(`missing ${field.name}`, json(wrap(item)));
    }
    if (field.numeric === true) {
      for (const token of RAW_NUMBERS) {
        const text = JSON.stringify(wrap({ ...base(), [field.name]: '__RAW__' })).replace('"__RAW__"', token);
        send(`${field.name} raw ${token}`, Buffer.from(text, 'utf8'));
      }
    }
    if (field.text === true) {
      for (const bytes of [[0xff], [0xc3, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]]) {
        const text = JSON.stringify(wrap({ ...base(), [field.name]: 'ab__BYTES__cd' }));
        const [before, after] = text.split('__BYTES__') as [string, string];
        send(`${field.name} with invalid UTF-8 ${bytes.map((b) => b.toString(16)).join(' ')}`, Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]));
      }
    }
  }
  for (const numberPath of spec.nestedNumbers ?? []) {
    for (const token of RAW_NUMBERS) {
      const item = base();
      let parent: Json = item;
      for (const key of numberPath.slice(0, -1)) parent = parent[key] as Json;
      parent[numberPath.at(-1) as string] = '__RAW__';
      send(`${numberPath.join('.')} raw ${token}`, Buffer.from(JSON.stringify(wrap(item)).replace('"__RAW__"', token), 'utf8'));
    }
  }
  for (const extra of ['id', 'org_id', 'extra', 'created_at', '__proto__', 'constructor', '']) {
    const item = base();
    send(`extra field ${JSON.stringify(extra)}`, Buffer.from(JSON.stringify(wrap(item)).replace(/^\{/, `{${JSON.stringify(extra)}:1,`), 'utf8'));
  }
  // An invalid UTF-8 byte in a key: the key itself becomes unknown, or the JSON breaks.
  send('invalid UTF-8 in a key', Buffer.concat([Buffer.from('{"a'), Buffer.of(0xff), Buffer.from(`":1,${JSON.stringify(spec.valid()).slice(1)}`)]));
  for (const whole of ['[]', '"text"', '42', 'null', 'true', `[${JSON.stringify(spec.valid())}]`, '{}']) {
    if (whole === '{}' && !spec.partial && !spec.bulk && spec.fields.every((f) => !f.required)) continue;
    send(`body ${whole.slice(0, 30)}`, Buffer.from(whole, 'utf8'));
  }
  const validText = JSON.stringify(spec.valid());
  for (const cut of [1, 2, Math.floor(validText.length / 2), validText.length - 1]) send(`truncated JSON at ${cut}`, Buffer.from(validText.slice(0, cut), 'utf8'));
  for (const broken of [`${validText}}`, `${validText}x`, validText.replace(/"/g, "'"), `/* c */${validText}`, validText.replace(':', '='), `{${validText}`]) {
    send(`malformed JSON ${broken.slice(0, 30)}`, Buffer.from(broken, 'utf8'));
  }
  if (spec.optional !== true) send('empty body', Buffer.alloc(0));
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'application/octet-stream', 'multipart/form-data; boundary=x', 'application/jsonx', 'application/vnd.api+json', 'application/json; charset=latin1', 'application/json; charset=iso-8859-1']) {
    send(`content-type ${type}`, Buffer.from(validText, 'utf8'), { 'content-type': type });
  }
  send('no content-type', Buffer.from(validText, 'utf8'), {});
  send(`oversized body (${spec.maxBytes + 1} bytes)`, Buffer.from(JSON.stringify({ pad: 'x'.repeat(spec.maxBytes) }), 'utf8'));
  const textField = spec.fields.find((f) => f.text === true);
  if (textField !== undefined) send(`huge string in ${textField.name}`, json(wrap({ ...base(), [textField.name]: 'y'.repeat(600_000) })));
  if (spec.partial) {
    send('empty patch {}', json({}));
    if (spec.fields.some((f) => f.name === 'end_date')) send('patch with end before start', json({ start_date: '2024-05-01', end_date: '2024-04-30' }));
  } else if (!spec.bulk && spec.fields.some((f) => f.name === 'end_date')) {
    send('end before start', json({ ...spec.valid(), start_date: '2024-05-01', end_date: '2024-04-30' }));
  }
  if (spec.bulk) {
    for (const items of [[], 'x', null, 1, {}, [null], [[]], ['x'], [1]]) send(`items = ${JSON.stringify(items)}`, json({ items }));
    send('no items key', json({}));
    send('5,001 items', json({ items: Array.from({ length: 5001 }, () => validSubscription()) }));
    send('end before start in an item', json(wrap({ ...validSubscription(), start_date: '2024-05-01', end_date: '2024-04-30' })));
  }
  // Random compositions: two to four invalid fields at once, plus random extra keys.
  for (let i = 0; i < randomCount; i += 1) {
    const item = base();
    const changed: string[] = [];
    for (let k = int(rng, 1, 3); k > 0; k -= 1) {
      const field = pick(rng, spec.fields);
      item[field.name] = pick(rng, field.invalid);
      changed.push(field.name);
    }
    if (rng() < 0.3) item[randomText(rng, 'abcdefghij_', 1, 10)] = randomText(rng, WILD, 0, 10);
    send(`random invalid ${changed.join('+')}`, json(wrap(item)));
  }
  return out;
}

/**
 * Endpoints that take no body ignore a well-formed one, so only bodies that cannot be read
 * are sent: malformed JSON, an unsupported charset, or more bytes than any route allows.
 */
function noBodyProbes(endpoint: Endpoint): Probe[] {
  const out: Probe[] = [];
  for (const broken of ['{', '{"a":', '[1,', '{"a" 1}', "{'a':1}", 'nul', '{"a":1}}']) {
    out.push(probe(endpoint, `unreadable body ${broken}`, { body: Buffer.from(broken), headers: JSON_HEADERS }));
  }
  out.push(probe(endpoint, 'body with an unsupported charset', { body: Buffer.from('{}'), headers: { 'content-type': 'application/json; charset=latin1' } }));
  out.push(probe(endpoint, 'oversized body', { body: Buffer.alloc(MIB + 1, 0x20), headers: JSON_HEADERS }));
  return out;
}

function authProbes(endpoint: Endpoint): Probe[] {
  return [
    probe(endpoint, 'no credential', { auth: 'none' }),
    probe(endpoint, 'malformed credential', { auth: 'malformed' }),
    probe(endpoint, endpoint.admin === true ? "a tenant's key on an admin route" : 'the admin token on a tenant route', { auth: 'other' }),
  ];
}

/** At least `PER_ENDPOINT` probes: the fixed tables first, then seeded random ones. */
function generate(endpoint: Endpoint, seed: number): Probe[] {
  const rng = rngFrom(seed);
  const probes = [...authProbes(endpoint), ...pathProbes(endpoint, rng, 0), ...queryProbes(endpoint, rng, 0), ...bodyProbes(endpoint, rng, 0), ...(endpoint.extra?.() ?? [])];
  // Fill up evenly from the random generators that apply to this endpoint.
  const fillers: ((n: number) => Probe[])[] = [(n) => queryProbes(endpoint, rng, n).slice(-n)];
  if (endpoint.params.length > 0) fillers.push((n) => pathProbes(endpoint, rng, n).filter((p) => p.label.startsWith('random')));
  if (endpoint.body !== undefined) fillers.push((n) => bodyProbes(endpoint, rng, n).filter((p) => p.label.startsWith('random')));
  const missing = Math.max(0, PER_ENDPOINT - probes.length);
  const share = Math.ceil(missing / fillers.length);
  for (const fill of fillers) probes.push(...fill(share));
  return probes;
}

// --- sending and judging -------------------------------------------------------------------

interface Outcome {
  probe: Probe;
  status: number;
  text: string;
  requestIdHeader: string | null;
  headers?: IncomingHttpHeaders;
}

/** Keep-alive, like a real client; `http.request` (not fetch) because GET bodies must be sendable. */
const agent = new Agent({ keepAlive: true, maxSockets: 8 });

async function send(endpoint: Endpoint, p: Probe): Promise<Outcome> {
  const headers: Record<string, string | number> = { ...p.headers };
  const admin = endpoint.admin === true;
  if (p.auth === 'valid') headers.authorization = `Bearer ${admin ? ADMIN_TOKEN : tenant.apiKey}`;
  if (p.auth === 'other') headers.authorization = `Bearer ${admin ? tenant.apiKey : ADMIN_TOKEN}`;
  if (p.auth === 'malformed') headers.authorization = admin ? 'Bearer adm_short' : 'Bearer cak_short';
  if (p.body !== undefined) headers['content-length'] = p.body.length;
  return new Promise<Outcome>((resolve) => {
    const req = request(`${endpoint.server().url}${p.path}`, { method: p.method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const requestId = res.headers['x-request-id'];
        resolve({ probe: p, status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), requestIdHeader: typeof requestId === 'string' ? requestId : null, headers: res.headers });
      });
      res.on('error', (error) => resolve({ probe: p, status: 0, text: `response failed: ${String(error)}`, requestIdHeader: null }));
    });
    // A server that answers 413 before reading the body may close while we still write:
    // the answer was already received by then, so only a missing answer counts.
    req.on('error', (error) => resolve({ probe: p, status: 0, text: `request failed: ${String(error)}`, requestIdHeader: null }));
    req.end(p.body);
  });
}

const ERROR_CODES = new Set(['INVALID_ARGUMENT', 'UNAUTHENTICATED', 'PERMISSION_DENIED', 'NOT_FOUND', 'METHOD_NOT_ALLOWED', 'ALREADY_EXISTS', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'QUOTA_EXCEEDED']);

/** Why an answer is not a 4xx with the error envelope; undefined when it is. */
function problemWith(outcome: Outcome): string | undefined {
  if (outcome.status < 400 || outcome.status > 499) return `status ${outcome.status}`;
  let body: unknown;
  try {
    body = JSON.parse(outcome.text);
  } catch {
    return 'body is not JSON';
  }
  const error = (body as { error?: Record<string, unknown> }).error;
  if (error === undefined || Object.keys(body as object).length !== 1) return 'no {error} envelope';
  if (typeof error.code !== 'string' || !ERROR_CODES.has(error.code)) return `code ${String(error.code)}`;
  if (typeof error.message !== 'string' || error.message === '') return 'no message';
  if (!Array.isArray(error.details) || !error.details.every((d: { path?: unknown; message?: unknown }) => typeof d.path === 'string' && typeof d.message === 'string')) {
    return 'details malformed';
  }
  if (typeof error.request_id !== 'string' || error.request_id === '' || error.request_id !== outcome.requestIdHeader) return 'request_id missing or not the X-Request-Id';
  // And the answer is one openapi.json describes for this operation (status, headers, body).
  const undocumented = apiContract().problemsWith({ method: outcome.probe.method, url: outcome.probe.path, status: outcome.status, headers: outcome.headers ?? {}, text: outcome.text });
  if (undocumented.length > 0) return undocumented.join('; ');
  return undefined;
}

async function runAll(endpoint: Endpoint, probes: Probe[], concurrency = 6): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < probes.length) {
        const p = probes[next] as Probe;
        next += 1;
        outcomes.push(await send(endpoint, p));
      }
    }),
  );
  return outcomes;
}

/** Everything the tenant owns and every side effect a valid request would leave, to prove none was left. */
async function tenantState(): Promise<unknown> {
  const db = testDb();
  const rowsOf = async (sql: string, params: unknown[] = [tenant.orgId]): Promise<unknown[]> => (await db.query<Record<string, unknown>>(sql, params)).rows;
  return {
    apiKeys: await rowsOf(`SELECT id, revoked_at FROM api_keys WHERE org_id = $1 ORDER BY id`),
    budgets: await rowsOf(`SELECT * FROM budgets WHERE org_id = $1 ORDER BY id`),
    alerts: await rowsOf(`SELECT id, status, attempts FROM budget_alerts WHERE org_id = $1 ORDER BY id`),
    runs: await rowsOf(`SELECT id, status, run_date::text FROM pipeline_runs WHERE org_id = $1 ORDER BY id`),
    quota: await rowsOf(`SELECT usage_date::text, pipelines_run FROM usage_quotas WHERE org_id = $1 ORDER BY 1`),
    idempotencyKeys: await rowsOf(`SELECT count(*)::int AS n FROM idempotency_keys WHERE org_id = $1`),
    signingSecrets: await rowsOf(`SELECT count(*)::int AS n FROM webhook_secrets WHERE org_id = $1`),
    onboarded: await rowsOf(`SELECT count(*)::int AS n FROM orgs WHERE org_slug = $1`, [validOnboarding().org_slug]),
  };
}
let stateBefore: unknown;

beforeAll(async () => {
  // Some 10,000 probes each log a WARNING access line (a 4xx): ERROR only, so a CI log shows
  // what failed rather than every probe. A 5xx still logs, and fails its case anyway.
  setLogLevel('ERROR');
  for (const name of ['orgs', 'quota', 'pricing', 'subscriptions', 'integrations', 'costs', 'pipelines', 'budgets']) served[name] = await serveFunction(name);
  tenant = await createTenant({ slugPrefix: 'badinput' });
  const auth = { authorization: `Bearer ${tenant.apiKey}`, ...JSON_HEADERS };
  const post = async (fn: string, path: string, body?: Json): Promise<Json> => {
    const res = await documentedFetch(`${server(fn)().url}${path}`, { method: 'POST', headers: auth, body: body === undefined ? undefined : JSON.stringify(body) });
    expect(res.status).toBe(201);
    return (await res.json()) as Json;
  };
  const firstPageCursor = async (fn: string, path: string): Promise<string> => {
    const page = (await (await documentedFetch(`${server(fn)().url}${path}`, { headers: auth })).json()) as { next_cursor: string | null };
    if (typeof page.next_cursor !== 'string') throw new Error(`${path} gave no cursor`);
    return page.next_cursor;
  };
  for (const model of ['m1', 'm2']) {
    await documentedFetch(`${server('pricing')().url}/v1/pricing/openai/${model}`, { method: 'PUT', headers: auth, body: JSON.stringify({ prices_per_mtok_usd: { input: '1', output: '1' } }) });
  }
  subscriptionId = (await post('subscriptions', '/v1/subscriptions', validSubscription())).id as string;
  await post('subscriptions', '/v1/subscriptions', validSubscription());
  extraKeyId = (await post('orgs', '/v1/orgs/me/api-keys')).id as string;
  budgetId = (await post('budgets', '/v1/budgets', validBudget())).id as string;
  await post('budgets', '/v1/budgets', validBudget());
  // Alerts are raised by budget-alerts (not served here): the rows it writes.
  for (const threshold of [50, 100]) {
    await testDb().query(
      `INSERT INTO budget_alerts (id, org_id, budget_id, period_start, kind, threshold_pct, payload, webhook_url)
       VALUES (gen_random_uuid(), $1, $2, date_trunc('month', now())::date, 'threshold', $3, $4, 'http://127.0.0.1:9/hook')`,
      [tenant.orgId, budgetId, threshold, JSON.stringify({ type: 'budget.threshold_crossed', spent_usd: 60, forecast_usd: 90 })],
    );
  }
  // Runs queued as the trigger queues them, unpublished: nothing here runs them.
  const db = await getDb();
  for (const day of ['2026-01-01', '2026-01-02']) {
    const queued = await db.withTransaction((client) => queueRun(client, tenant.orgId, 'demo_usage_daily', day));
    if (queued.kind !== 'queued') throw new Error(`run not queued: ${queued.kind}`);
    runId = queued.runId;
  }
  cursors.pricing = await firstPageCursor('pricing', '/v1/pricing?limit=1');
  cursors.subscriptions = await firstPageCursor('subscriptions', '/v1/subscriptions?limit=1');
  cursors.budgets = await firstPageCursor('budgets', '/v1/budgets?limit=1');
  cursors.alerts = await firstPageCursor('budgets', '/v1/alerts?limit=1');
  cursors.runs = await firstPageCursor('pipelines', '/v1/pipelines/runs?limit=1');
  stateBefore = await tenantState();
}, 120_000);

afterAll(async () => {
  setLogLevel(parseLogConfig().level);
  agent.destroy();
  await Promise.all(Object.values(served).map((fn) => fn.close()));
  await closeTestDb();
  await closeFunctionRuntime();
  await bigQueryEndpoint.close();
  // The key file is secret material: it does not outlive the run.
  rmSync(keyDir, { recursive: true, force: true });
});

/** Requests per endpoint and how they were answered, printed once at the end. */
const tally: string[] = [];

describe('malformed requests', () => {
  afterAll(() => {
    console.log(`malformed requests per endpoint:\n${tally.join('\n')}`);
  });

  it.each(endpoints.map((e, i) => [e.name, e, i] as const))(
    'answers every one of at least 300 generated malformed requests to %s with a 4xx and the error envelope',
    async (_name, endpoint, index) => {
      const probes = generate(endpoint, 1000 + index);

      const outcomes = await runAll(endpoint, probes);

      const failures = outcomes.map((o) => ({ o, why: problemWith(o) })).filter((f) => f.why !== undefined);
      const statuses = new Map<number, number>();
      for (const o of outcomes) statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
      tally.push(`${endpoint.name}: ${outcomes.length} → ${[...statuses].sort().map(([s, n]) => `${s}×${n}`).join(', ')}`);
      expect(outcomes.length).toBeGreaterThanOrEqual(300);
      expect(outcomes.filter((o) => o.status >= 500)).toEqual([]);
      expect(
        failures.slice(0, 10).map(({ o, why }) => `${o.probe.label} → ${why}: ${o.text.slice(0, 200)}`),
      ).toEqual([]);
    },
    120_000,
  );

  it('left every existing row untouched: the generated requests changed nothing', async () => {
    const auth = { authorization: `Bearer ${tenant.apiKey}` };
    const prices = (await (await documentedFetch(`${server('pricing')().url}/v1/pricing?source=org`, { headers: auth })).json()) as { items: { model: string }[] };
    const subs = (await (await documentedFetch(`${server('subscriptions')().url}/v1/subscriptions`, { headers: auth })).json()) as { items: { seats: number }[] };
    const integ = (await (await documentedFetch(`${server('integrations')().url}/v1/integrations`, { headers: auth })).json()) as { items: unknown[] };

    expect(prices.items.map((i) => i.model)).toEqual(['m1', 'm2']);
    expect(subs.items.map((s) => s.seats)).toEqual([10, 10]);
    expect(integ.items).toEqual([]);
    // No key minted or revoked, no budget changed, no run queued, no secret rotated, no org onboarded.
    expect(await tenantState()).toEqual(stateBefore);
  });
});

describe('percent-encoding in the path', () => {
  // Express decodes its catch-all route parameter before our handler runs and hands the
  // URIError (status 400) to the request gate's final handler (shared/http/requestGate.ts).
  it.each([
    ['pricing', 'DELETE', '/v1/pricing/%ZZ/gpt-4o'],
    ['pricing', 'DELETE', '/v1/pricing/openai/a%'],
    ['subscriptions', 'DELETE', '/v1/subscriptions/%E0%A4%A'],
    ['integrations', 'DELETE', '/v1/integrations/%'],
    ['orgs', 'DELETE', '/v1/orgs/me/api-keys/%ZZ'],
    ['pipelines', 'GET', '/v1/pipelines/runs/%E0%A4%A'],
    ['pipelines', 'POST', '/v1/pipelines/%/runs'],
    ['budgets', 'GET', '/v1/budgets/%'],
    ['budgets', 'GET', '/v1/budgets/%ZZ/status'],
  ])('answers %s %s %s (not valid percent-encoding) with 400, not 500', async (fn, method, badPath) => {
    const res = await documentedFetch(`${server(fn)().url}${badPath}`, { method, headers: { authorization: `Bearer ${tenant.apiKey}` } });

    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_ARGUMENT');
  });
});

describe('body limits with all eight functions in one process', () => {
  // The gate asks every function's routes and the one that matches decides (requestGate.ts):
  // subscriptions is loaded last, yet its bulk route keeps its 8 MiB, and no other route gets it.
  const twoMiB = (): Buffer => json({ items: [{ ...validSubscription(), vendor: 'v'.repeat(2 * MIB) }] });

  it.each([
    ['the bulk route reads it and refuses the field', '/v1/subscriptions/bulk', 400, 'INVALID_ARGUMENT'],
    ['a 1 MiB route refuses it unread', '/v1/subscriptions', 413, 'PAYLOAD_TOO_LARGE'],
  ])('answers a 2 MiB body with an over-long vendor: %s', async (_case, path, status, code) => {
    const res = await documentedFetch(`${server('subscriptions')().url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.apiKey}`, ...JSON_HEADERS },
      body: twoMiB(),
    });

    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
  });
});


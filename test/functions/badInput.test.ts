import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalFileKek } from '../../shared/crypto/index.js';
import { closeFunctionRuntime, closeTestDb, createTenant, serveFunction, type ServedFunction, type TestTenant } from '../helpers/tenants.js';
import { mulberry32 } from '../../dev/random.js';
import { apiContract, documentedFetch } from '../helpers/apiContract.js';

/*
 * Generated malformed requests for every endpoint of pricing, subscriptions and
 * integrations. A small deterministic generator (seeded PRNG, fixed tables) produces at
 * least 300 requests per endpoint; every answer must be a 4xx with the error envelope,
 * and not one may be a 5xx. Each probe is invalid by construction: the generator checks
 * candidate path values against the API's patterns and never sends a well-formed body to
 * an endpoint that would ignore it.
 */

const keyDir = mkdtempSync(path.join(tmpdir(), 'cloudact-kek-'));
process.env.KEK_FILE = path.join(keyDir, 'kek.b64');
writeFileSync(process.env.KEK_FILE, LocalFileKek.generateKeyFileContent(), { mode: 0o600 });
delete process.env.KMS_KEY_NAME;

// Subscriptions first: in one process, the first function's route table decides the
// pre-read body limit, and only subscriptions has an 8 MiB route.
await import('../../functions/subscriptions/index.js');
await import('../../functions/pricing/index.js');
await import('../../functions/integrations/index.js');

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
  /** Which key to send: the tenant's, none, or a malformed one. */
  auth: 'valid' | 'none' | 'malformed';
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
}

interface ParamSpec {
  name: string;
  valid: () => string;
  isValid: (s: string) => boolean;
  fixedBad: string[];
}

type QueryKind = 'none' | 'pricing-list' | 'subscription-list' | 'spec';

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
  body?: BodySpec;
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

// --- the tenant, and ids that exist --------------------------------------------------------------

let pricing: ServedFunction;
let subscriptions: ServedFunction;
let integrations: ServedFunction;
let tenant: TestTenant;
let subscriptionId = '';
let pricingCursor = '';
let subscriptionCursor = '';

const idParam: ParamSpec = {
  name: 'id',
  valid: () => subscriptionId,
  isValid: (s) => UUID.test(s),
  fixedBad: [
    'abc', '1', 'null', 'undefined', 'bulk2', '00000000-0000-0000-0000-00000000000g', '0000000000000000000000000000000',
    '{00000000-0000-4000-8000-000000000000}', '00000000-0000-4000-8000-0000000000000', '00000000-0000-4000-8000-00000000000',
    '00000000000040008000000000000000', ' 00000000-0000-4000-8000-000000000000', '00000000-0000-4000-8000-000000000000 ',
    'x'.repeat(1000), "1' OR '1'='1",
  ],
};

const endpoints: Endpoint[] = [
  { name: 'GET /v1/pricing', server: () => pricing, method: 'GET', template: '/v1/pricing', params: [], query: 'pricing-list' },
  {
    name: 'GET /v1/pricing/resolve',
    server: () => pricing,
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
    server: () => pricing,
    method: 'PUT',
    template: '/v1/pricing/{provider}/{model}',
    params: [providerParam('openai'), modelParam],
    query: 'none',
    body: { valid: validPrice, fields: pricingFields, nestedNumbers: [['prices_per_mtok_usd', 'input'], ['prices_per_mtok_usd', 'output'], ['prices_per_mtok_usd', 'cache_write_1h']], maxBytes: MIB },
  },
  {
    name: 'DELETE /v1/pricing/{provider}/{model}',
    server: () => pricing,
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
  { name: 'GET /v1/subscriptions', server: () => subscriptions, method: 'GET', template: '/v1/subscriptions', params: [], query: 'subscription-list' },
  {
    name: 'POST /v1/subscriptions',
    server: () => subscriptions,
    method: 'POST',
    template: '/v1/subscriptions',
    params: [],
    query: 'none',
    body: { valid: validSubscription, fields: subscriptionFields, maxBytes: MIB },
  },
  {
    name: 'POST /v1/subscriptions/bulk',
    server: () => subscriptions,
    method: 'POST',
    template: '/v1/subscriptions/bulk',
    params: [],
    query: 'none',
    body: { valid: () => ({ items: [validSubscription(), validSubscription()] }), fields: subscriptionFields, maxBytes: 8 * MIB, bulk: true },
  },
  { name: 'GET /v1/subscriptions/{id}', server: () => subscriptions, method: 'GET', template: '/v1/subscriptions/{id}', params: [idParam], query: 'none' },
  {
    name: 'PATCH /v1/subscriptions/{id}',
    server: () => subscriptions,
    method: 'PATCH',
    template: '/v1/subscriptions/{id}',
    params: [idParam],
    query: 'none',
    body: { valid: () => ({ seats: 12 }), fields: subscriptionFields, partial: true, maxBytes: MIB },
  },
  { name: 'DELETE /v1/subscriptions/{id}', server: () => subscriptions, method: 'DELETE', template: '/v1/subscriptions/{id}', params: [idParam], query: 'none' },
  {
    name: 'PUT /v1/integrations/{provider}',
    server: () => integrations,
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
  { name: 'GET /v1/integrations', server: () => integrations, method: 'GET', template: '/v1/integrations', params: [], query: 'none' },
  {
    name: 'DELETE /v1/integrations/{provider}',
    server: () => integrations,
    method: 'DELETE',
    template: '/v1/integrations/{provider}',
    params: [providerParam('openai')],
    query: 'none',
  },
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
  const realCursor = endpoint.query === 'pricing-list' ? pricingCursor : subscriptionCursor;
  const filterName = endpoint.query === 'pricing-list' ? 'provider' : 'status';
  const badFilters = endpoint.query === 'pricing-list' ? ['OpenAI', 'a', '1x', 'x'.repeat(41), 'a b', '', 'ü'] : ['ACTIVE', 'paused', '', 'active,cancelled', 'x'.repeat(500)];
  for (const limit of BAD_LIMITS) withQuery(`bad limit ${JSON.stringify(limit)}`, `limit=${encodeURIComponent(limit)}`);
  withQuery('repeated limit', 'limit=5&limit=6');
  withQuery('limit as an array', 'limit[]=5');
  for (const bad of badFilters) withQuery(`bad ${filterName} ${JSON.stringify(bad).slice(0, 30)}`, `${filterName}=${encodeURIComponent(bad)}`);
  withQuery(`repeated ${filterName}`, `${filterName}=a&${filterName}=b`);
  if (endpoint.query === 'pricing-list') {
    for (const bad of ['gpt/4o', 'gpt 4o', '', 'x'.repeat(101), 'ü']) withQuery(`bad model ${JSON.stringify(bad).slice(0, 30)}`, `model=${encodeURIComponent(bad)}`);
    for (const bad of ['ORG', 'both', '', 'org,catalogue', 'none']) withQuery(`bad source ${JSON.stringify(bad)}`, `source=${encodeURIComponent(bad)}`);
    withQuery('repeated source', 'source=org&source=catalogue');
    withQuery('cursor from another source', `source=org&cursor=${encodeURIComponent(realCursor)}`);
  }
  for (const cursor of ['', 'abc', 'v1', 'v1..', 'v1.x.y', 'v2.WyJhIl0.AAAAAAAAAAAAAAAAAAAAAA', 'v1.WyJhIl0.AAAAAAAAAAAAAAAAAAAAAA', 'x'.repeat(3000), `${realCursor}x`, realCursor.slice(0, -1), ` ${realCursor}`]) {
    withQuery(`bad cursor ${JSON.stringify(cursor).slice(0, 30)}`, `cursor=${encodeURIComponent(cursor)}`);
  }
  // A genuine cursor is bound to its filter: with another filter it is refused.
  withQuery('cursor from another filter', `${filterName}=${endpoint.query === 'pricing-list' ? 'zz' : 'cancelled'}&cursor=${encodeURIComponent(realCursor)}`);
  for (const q of ['sort=model', 'offset=10', 'page=2', 'x=1', 'limit=5&x=1']) withQuery(`unknown parameter ${q}`, q);
  // Broken percent-encoding in the query (the parser keeps such values as they are).
  for (const q of ['limit=%ZZ', 'cursor=%E0%A4%A', `${filterName}=%`, 'limit=%35%']) withQuery(`raw query ${q}`, q);
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
  send('empty body', Buffer.alloc(0));
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'application/octet-stream', 'multipart/form-data; boundary=x', 'application/jsonx', 'application/vnd.api+json', 'application/json; charset=latin1', 'application/json; charset=iso-8859-1']) {
    send(`content-type ${type}`, Buffer.from(validText, 'utf8'), { 'content-type': type });
  }
  send('no content-type', Buffer.from(validText, 'utf8'), {});
  send(`oversized body (${spec.maxBytes + 1} bytes)`, Buffer.from(JSON.stringify({ pad: 'x'.repeat(spec.maxBytes) }), 'utf8'));
  const textField = spec.fields.find((f) => f.text === true);
  if (textField !== undefined) send(`huge string in ${textField.name}`, json(wrap({ ...base(), [textField.name]: 'y'.repeat(600_000) })));
  if (spec.partial) {
    send('empty patch {}', json({}));
    send('patch with end before start', json({ start_date: '2024-05-01', end_date: '2024-04-30' }));
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
    probe(endpoint, 'no API key', { auth: 'none' }),
    probe(endpoint, 'malformed API key', { auth: 'malformed' }),
  ];
}

/** At least `PER_ENDPOINT` probes: the fixed tables first, then seeded random ones. */
function generate(endpoint: Endpoint, seed: number): Probe[] {
  const rng = rngFrom(seed);
  const probes = [...authProbes(endpoint), ...pathProbes(endpoint, rng, 0), ...queryProbes(endpoint, rng, 0), ...bodyProbes(endpoint, rng, 0)];
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
  if (p.auth === 'valid') headers.authorization = `Bearer ${tenant.apiKey}`;
  if (p.auth === 'malformed') headers.authorization = 'Bearer cak_short';
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

beforeAll(async () => {
  subscriptions = await serveFunction('subscriptions');
  pricing = await serveFunction('pricing');
  integrations = await serveFunction('integrations');
  tenant = await createTenant({ slugPrefix: 'badinput' });
  const auth = { authorization: `Bearer ${tenant.apiKey}`, ...JSON_HEADERS };
  for (const model of ['m1', 'm2']) {
    await documentedFetch(`${pricing.url}/v1/pricing/openai/${model}`, { method: 'PUT', headers: auth, body: JSON.stringify({ prices_per_mtok_usd: { input: '1', output: '1' } }) });
  }
  const created: string[] = [];
  for (let i = 0; i < 2; i += 1) {
    const res = await documentedFetch(`${subscriptions.url}/v1/subscriptions`, { method: 'POST', headers: auth, body: JSON.stringify(validSubscription()) });
    created.push(((await res.json()) as { id: string }).id);
  }
  subscriptionId = created[0] as string;
  pricingCursor = (((await (await documentedFetch(`${pricing.url}/v1/pricing?limit=1`, { headers: auth })).json()) as { next_cursor: string }).next_cursor);
  subscriptionCursor = (((await (await documentedFetch(`${subscriptions.url}/v1/subscriptions?limit=1`, { headers: auth })).json()) as { next_cursor: string }).next_cursor);
});

afterAll(async () => {
  agent.destroy();
  await Promise.all([pricing.close(), subscriptions.close(), integrations.close()]);
  await closeTestDb();
  await closeFunctionRuntime();
  // The key file is secret material: it does not outlive the run.
  rmSync(keyDir, { recursive: true, force: true });
});

describe('malformed requests', () => {
  it.each(endpoints.map((e, i) => [e.name, e, i] as const))(
    'answers every one of at least 300 generated malformed requests to %s with a 4xx and the error envelope',
    async (_name, endpoint, index) => {
      const probes = generate(endpoint, 1000 + index);

      const outcomes = await runAll(endpoint, probes);

      const failures = outcomes.map((o) => ({ o, why: problemWith(o) })).filter((f) => f.why !== undefined);
      const statuses = new Map<number, number>();
      for (const o of outcomes) statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
      console.log(`${endpoint.name}: ${outcomes.length} malformed requests → ${[...statuses].sort().map(([s, n]) => `${s}×${n}`).join(', ')}`);
      expect(outcomes.length).toBeGreaterThanOrEqual(300);
      expect(outcomes.filter((o) => o.status >= 500)).toEqual([]);
      expect(
        failures.slice(0, 10).map(({ o, why }) => `${o.probe.label} → ${why}: ${o.text.slice(0, 200)}`),
      ).toEqual([]);
    },
    60_000,
  );

  it('left every existing row untouched: the generated requests changed nothing', async () => {
    const auth = { authorization: `Bearer ${tenant.apiKey}` };
    const prices = (await (await documentedFetch(`${pricing.url}/v1/pricing?source=org`, { headers: auth })).json()) as { items: { model: string }[] };
    const subs = (await (await documentedFetch(`${subscriptions.url}/v1/subscriptions`, { headers: auth })).json()) as { items: { seats: number }[] };
    const integ = (await (await documentedFetch(`${integrations.url}/v1/integrations`, { headers: auth })).json()) as { items: unknown[] };

    expect(prices.items.map((i) => i.model)).toEqual(['m1', 'm2']);
    expect(subs.items.map((s) => s.seats)).toEqual([10, 10]);
    expect(integ.items).toEqual([]);
  });
});

describe('percent-encoding in the path', () => {
  // Express decodes its catch-all route parameter before our handler runs and hands the
  // URIError (status 400) to the request gate's final handler (shared/http/requestGate.ts).
  it.each(['/v1/pricing/%ZZ/gpt-4o', '/v1/pricing/openai/a%', '/v1/subscriptions/%E0%A4%A', '/v1/integrations/%'])(
    'answers %s (not valid percent-encoding) with 400, not 500',
    async (badPath) => {
      const server = badPath.startsWith('/v1/pricing') ? pricing : badPath.startsWith('/v1/subscriptions') ? subscriptions : integrations;

      const res = await documentedFetch(`${server.url}${badPath}`, { method: 'DELETE', headers: { authorization: `Bearer ${tenant.apiKey}` } });


      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_ARGUMENT');
    },
  );
});

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type * as DeadlineModule from '../../shared/deadline/index.js';
import { Deadline, now, runWithDeadline } from '../../shared/deadline/index.js';
import { DeadlineExceededError, InvalidArgumentError, UnavailableError, type AppError } from '../../shared/errors/index.js';
import { ProviderCredentialError, ProviderResponseError, fetchUsage, type FetchUsageOptions } from '../../shared/providers/index.js';
import { tokenCounts, type TokenCounts, type UsageRow } from '../../shared/usage/index.js';
import { freePort } from '../../dev/freePort.js';
import { startFakeAnthropic, startFakeOpenAi, type FakeBilledLine, type FakeProvider, type FakeUsageGroup } from '../fixtures/providers/fakeProvider.js';
import { captureLogs, type CapturedLogs } from '../fixtures/runtime/logs.js';

/** The tiers of the budgets `fetchUsage` asked for (the real `withBudget` still runs). */
const budgets = vi.hoisted(() => ({ tiers: [] as string[] }));
vi.mock('../../shared/deadline/index.js', async (importOriginal) => {
  const original = await importOriginal<typeof DeadlineModule>();
  const withBudget: typeof original.withBudget = (tier, fn) => {
    budgets.tiers.push(tier);
    return original.withBudget(tier, fn);
  };
  return { ...original, withBudget };
});

const DATE = '2026-11-27';
const OPENAI_KEY = 'sk-admin-openai-0123456789abcdef';
const ANTHROPIC_KEY = 'sk-ant-admin01-0123456789abcdef';
/** Fast backoff: the tests count requests, they do not wait out real backoffs. */
const FAST = { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20 };

const COMPLETIONS = '/v1/organization/usage/completions';
const EMBEDDINGS = '/v1/organization/usage/embeddings';
const OPENAI_COSTS = '/v1/organization/costs';
const MESSAGES = '/v1/organizations/usage_report/messages';
const COST_REPORT = '/v1/organizations/cost_report';

/**
 * A day stated once for both fakes: five groups (three pages of two per fake), one on the
 * day before that must not be counted, and three billed lines (two pages).
 */
const DAY: FakeUsageGroup[] = [
  { date: DATE, model: 'model-a', project_id: 'p1', requests: 120, tokens: { input_uncached: 90_000, input_cached: 10_000, output: 35_000 } },
  { date: DATE, model: 'model-b', tier: 'batch', requests: 5_000, tokens: { input_uncached: 3_500_000, output: 1_250_000 } },
  { date: DATE, model: 'model-c', requests: 7, tokens: { input_uncached: 1_000, cache_write_5m: 200, output: 9_000 } },
  { date: DATE, model: 'model-a', project_id: 'p2', requests: 30, tokens: { input_uncached: 5_000, output: 2_000 } },
  { date: DATE, model: null, requests: 1, tokens: { input_uncached: 10, output: 5 } },
  { date: '2026-11-26', model: 'model-a', requests: 999, tokens: { input_uncached: 999, output: 999 } },
];
const DAY_BILLED: FakeBilledLine[] = [
  { date: DATE, description: 'input', amount_usd: '0.06', project_id: 'p1' },
  { date: DATE, description: 'output', amount_usd: '1.25' },
  { date: DATE, description: 'cache', amount_usd: '0.000001' },
  { date: '2026-11-26', description: 'input', amount_usd: '9' },
];

let openai: FakeProvider;
let anthropic: FakeProvider;
let logs: CapturedLogs;

beforeAll(async () => {
  openai = await startFakeOpenAi({ adminKey: OPENAI_KEY, pageSize: 2 });
  anthropic = await startFakeAnthropic({ adminKey: ANTHROPIC_KEY, pageSize: 2 });
});

afterAll(async () => {
  await Promise.all([openai.close(), anthropic.close()]);
});

beforeEach(() => {
  for (const fake of [openai, anthropic]) {
    fake.requests.length = 0;
    fake.script.length = 0;
    fake.fallback = { kind: 'ok' };
    fake.usage = DAY;
    fake.billed = DAY_BILLED;
    fake.openAiFields = 'current';
    fake.fixtureErrors.length = 0;
  }
  budgets.tiers.length = 0;
  logs = captureLogs('DEBUG');
});

afterEach(() => {
  logs.restore();
  expect(openai.fixtureErrors).toEqual([]);
  expect(anthropic.fixtureErrors).toEqual([]);
});

function openAiOptions(overrides: Partial<FetchUsageOptions> = {}): FetchUsageOptions {
  return { provider: 'openai', date: DATE, credential: OPENAI_KEY, baseUrl: openai.url, retry: FAST, ...overrides };
}

function anthropicOptions(overrides: Partial<FetchUsageOptions> = {}): FetchUsageOptions {
  return { provider: 'anthropic', date: DATE, credential: ANTHROPIC_KEY, baseUrl: anthropic.url, retry: FAST, ...overrides };
}

/** The rejection of `promise`, which must reject. */
async function failure(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    return error as AppError;
  }
  throw new Error('expected a rejection');
}

/** Asserts that nothing the operator or the run record sees carries the key or a piece of it. */
function expectNoSecret(error: AppError, key: string): void {
  const fragments = [key, key.slice(0, 6), key.slice(-4)];
  const seen = [error.message, JSON.stringify(error.details), ...logs.lines];
  for (const text of seen) for (const fragment of fragments) expect(text).not.toContain(fragment);
}

/** An expected usage row: the day, standard tier, no project or key, 0 requests unless said. */
function row(provider: string, model: string, fields: Partial<Omit<UsageRow, 'tokens'>> & { tokens: Partial<TokenCounts> }): UsageRow {
  return { usage_date: DATE, provider, model, service_tier: 'standard', project_id: null, api_key_id: null, requests: 0, ...fields, tokens: tokenCounts(fields.tokens) };
}

const grainOf = (r: UsageRow): string => JSON.stringify([r.model, r.service_tier, r.project_id, r.api_key_id]);
const sorted = (rows: UsageRow[]): UsageRow[] => [...rows].sort((a, b) => grainOf(a).localeCompare(grainOf(b)));

describe('fetchUsage: openai usage', () => {
  it('splits cached input out of input_tokens and keeps cache writes, audio and image in their own classes', async () => {
    openai.usage = [
      {
        date: DATE,
        model: 'gpt-4o-realtime-preview-2024-12-17',
        requests: 9,
        tokens: { input_uncached: 1_000, input_cached: 4_000, cache_write_5m: 500, input_audio: 3_000, input_image: 250, output: 700, output_audio: 1_200 },
      },
    ];

    const { rows } = await fetchUsage(openAiOptions());

    expect(rows).toEqual([
      row('openai', 'gpt-4o-realtime-preview-2024-12-17', {
        requests: 9,
        tokens: { input_uncached: 1_000, input_cached: 4_000, cache_write_5m: 500, input_audio: 3_000, input_image: 250, output: 700, output_audio: 1_200 },
      }),
    ]);
  });

  it("reads the spec's own example result: input_tokens 5,000 = 2,500 text + 300 audio + 200 image uncached + 1,800 cached + 200 cache writes", async () => {
    // openai-openapi openapi.yaml (f85dbe2), UsageCompletionsResult's example, as sent.
    const example = {
      input_tokens: 5000,
      input_cached_tokens: 1800,
      input_cache_write_tokens: 200,
      input_uncached_tokens: 3000,
      output_tokens: 1000,
      input_text_tokens: 2500,
      output_text_tokens: 800,
      input_cached_text_tokens: 1500,
      input_audio_tokens: 300,
      input_cached_audio_tokens: 100,
      output_audio_tokens: 100,
      input_image_tokens: 200,
      input_cached_image_tokens: 200,
      output_image_tokens: 100,
      num_model_requests: 5,
      service_tier: 'default',
      batch: false,
    };
    openai.usage = [{ date: DATE, model: 'gpt-4o-mini-2024-07-18', project_id: 'proj_abc', tokens: {}, wire: { openai: example } }];

    const { rows } = await fetchUsage(openAiOptions());

    expect(rows).toEqual([
      row('openai', 'gpt-4o-mini-2024-07-18', {
        project_id: 'proj_abc',
        requests: 5,
        // Image output (100) is priced as output: the classes keep text and image output together.
        tokens: { input_uncached: 2_500, input_cached: 1_800, cache_write_5m: 200, input_audio: 300, input_image: 200, output: 900, output_audio: 100 },
      }),
    ]);
  });

  it('derives uncached text from input_uncached_tokens when input_text_tokens is absent', async () => {
    openai.usage = [
      {
        date: DATE,
        model: 'gpt-4o-2024-08-06',
        tokens: {},
        wire: { openai: { input_tokens: 1_000, input_uncached_tokens: 700, input_text_tokens: undefined, input_audio_tokens: 100, input_image_tokens: 50, input_cached_tokens: 250, input_cache_write_tokens: 50 } },
      },
    ];

    const { rows } = await fetchUsage(openAiOptions());

    expect(rows[0]?.tokens).toEqual(tokenCounts({ input_uncached: 550, input_audio: 100, input_image: 50, input_cached: 250, cache_write_5m: 50 }));
  });

  it('reads answers with the fields before 2026-07-15: text input_tokens include cached tokens, audio is reported beside them', async () => {
    openai.openAiFields = 'legacy';
    openai.usage = [
      { date: DATE, model: 'gpt-4o-audio-preview-2024-12-17', requests: 3, tokens: { input_uncached: 900, input_cached: 100, input_audio: 300, output: 1_000, output_audio: 200 } },
      // The older spec's own example: input 5,000 of which 4,000 cached, audio 300 in and 200 out.
      {
        date: DATE,
        model: 'gpt-4o-mini-2024-07-18',
        tokens: {},
        wire: { openai: { input_tokens: 5000, output_tokens: 1000, input_cached_tokens: 4000, input_audio_tokens: 300, output_audio_tokens: 200, num_model_requests: 5 } },
      },
    ];

    const { rows } = await fetchUsage(openAiOptions());

    expect(sorted(rows)).toEqual([
      row('openai', 'gpt-4o-audio-preview-2024-12-17', { requests: 3, tokens: { input_uncached: 900, input_cached: 100, input_audio: 300, output: 1_000, output_audio: 200 } }),
      row('openai', 'gpt-4o-mini-2024-07-18', { requests: 5, tokens: { input_uncached: 1_000, input_cached: 4_000, input_audio: 300, output: 1_000, output_audio: 200 } }),
    ]);
  });

  it.each([
    { case: 'cached tokens above input_tokens (old fields)', wire: { input_tokens: 100, input_cached_tokens: 150, input_uncached_tokens: undefined } },
    { case: 'audio and image above the uncached input', wire: { input_tokens: 400, input_uncached_tokens: 100, input_text_tokens: undefined, input_audio_tokens: 300, input_image_tokens: 0, input_cached_tokens: 0 } },
    { case: 'audio output above output_tokens', wire: { output_tokens: 10, output_audio_tokens: 20 } },
    { case: 'classes that do not add up to input_tokens', wire: { input_tokens: 999_999 } },
  ])('refuses a result whose token fields contradict each other: $case', async ({ wire }) => {
    openai.usage = [{ date: DATE, model: 'gpt-4o-2024-08-06', tokens: { input_uncached: 100, output: 50 }, wire: { openai: wire } }];

    const error = await failure(fetchUsage(openAiOptions()));

    expect(error).toBeInstanceOf(ProviderResponseError);
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/openai usage API answered .*(below zero|do not add up)/);
  });

  it('maps batch and service tiers onto ours, keeping a tier it does not know as OpenAI spells it', async () => {
    const tiers: [string, Record<string, unknown>][] = [
      ['batch-job', { batch: true, service_tier: 'default' }],
      ['default', { batch: false, service_tier: 'default' }],
      ['auto', { batch: false, service_tier: 'auto' }],
      ['none', { batch: null, service_tier: null }],
      ['flex', { batch: false, service_tier: 'flex' }],
      ['priority', { batch: false, service_tier: 'priority' }],
      ['scale', { batch: false, service_tier: 'scale' }],
      ['future', { batch: false, service_tier: 'turbo' }],
    ];
    openai.usage = tiers.map(([model, wire]) => ({ date: DATE, model, tokens: { input_uncached: 1 }, wire: { openai: wire } }));

    const { rows } = await fetchUsage(openAiOptions());

    expect(Object.fromEntries(rows.map((r) => [r.model, r.service_tier]))).toEqual({
      'batch-job': 'batch',
      default: 'standard',
      auto: 'standard',
      none: 'standard',
      flex: 'flex',
      priority: 'priority',
      scale: 'priority',
      future: 'turbo',
    });
  });

  it('keeps projects, API keys and tiers apart, sums one grain over results and pages, and skips the other day', async () => {
    const { rows } = await fetchUsage(openAiOptions());

    expect(sorted(rows)).toEqual(
      sorted([
        row('openai', 'model-a', { project_id: 'p1', requests: 120, tokens: { input_uncached: 90_000, input_cached: 10_000, output: 35_000 } }),
        row('openai', 'model-a', { project_id: 'p2', requests: 30, tokens: { input_uncached: 5_000, output: 2_000 } }),
        row('openai', 'model-b', { service_tier: 'batch', requests: 5_000, tokens: { input_uncached: 3_500_000, output: 1_250_000 } }),
        row('openai', 'model-c', { requests: 7, tokens: { input_uncached: 1_000, cache_write_5m: 200, output: 9_000 } }),
        // A result without a model: counted under `unknown` (unpriced), never dropped.
        row('openai', 'unknown', { requests: 1, tokens: { input_uncached: 10, output: 5 } }),
      ]),
    );
  });

  it('sums a grain the provider splits over several results on several pages, and tiers that map to the same one', async () => {
    openai.usage = [
      { date: DATE, model: 'gpt-4.1-2025-04-14', project_id: 'p1', requests: 1, tokens: { input_uncached: 100, output: 10 }, separate: true },
      { date: DATE, model: 'other', tokens: { input_uncached: 1 } },
      { date: DATE, model: 'other-2', tokens: { input_uncached: 1 } },
      { date: DATE, model: 'gpt-4.1-2025-04-14', project_id: 'p1', requests: 2, tokens: { input_uncached: 200, input_cached: 50, output: 20 }, separate: true },
      { date: DATE, model: 'gpt-4.1-2025-04-14', project_id: 'p1', requests: 4, tokens: { input_uncached: 400, output: 40 }, wire: { openai: { service_tier: 'auto' } } },
    ];

    const { rows } = await fetchUsage(openAiOptions());

    expect(rows.find((r) => r.model === 'gpt-4.1-2025-04-14')).toEqual(row('openai', 'gpt-4.1-2025-04-14', { project_id: 'p1', requests: 7, tokens: { input_uncached: 700, input_cached: 50, output: 70 } }));
    expect(openai.requests.filter((r) => r.path === COMPLETIONS)).toHaveLength(3);
  });

  it('reads embeddings usage as uncached input at the standard tier, per model, project and key', async () => {
    openai.usage = [
      { date: DATE, model: 'text-embedding-ada-002-v2', project_id: 'proj_abc', api_key_id: 'key_abc', requests: 2, tokens: { input_uncached: 20 }, endpoint: 'embeddings' },
      { date: DATE, model: 'text-embedding-3-small', requests: 40, tokens: { input_uncached: 80_000 }, endpoint: 'embeddings' },
    ];

    const { rows } = await fetchUsage(openAiOptions());

    expect(sorted(rows)).toEqual([
      row('openai', 'text-embedding-3-small', { requests: 40, tokens: { input_uncached: 80_000 } }),
      row('openai', 'text-embedding-ada-002-v2', { project_id: 'proj_abc', api_key_id: 'key_abc', requests: 2, tokens: { input_uncached: 20 } }),
    ]);
  });

  it('asks each endpoint for 1d buckets of the day with its grouping, the admin key as a bearer token, and follows next_page', async () => {
    await fetchUsage(openAiOptions());

    const start = String(Date.parse(`${DATE}T00:00:00Z`) / 1000);
    const end = String(Number(start) + 86_400);
    expect(openai.requests.map((r) => `${r.path}${r.query.has('page') ? ' (next)' : ''}`)).toEqual([
      COMPLETIONS,
      `${COMPLETIONS} (next)`,
      `${COMPLETIONS} (next)`,
      EMBEDDINGS,
      OPENAI_COSTS,
      `${OPENAI_COSTS} (next)`,
    ]);
    for (const r of openai.requests) {
      expect(r.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
      expect(r.query.get('start_time')).toBe(start);
      expect(r.query.get('end_time')).toBe(end);
      expect(r.query.get('bucket_width')).toBe('1d');
      expect(r.query.get('limit')).toBe('31');
    }
    const groupBy = (path: string): string[] => openai.requests.find((r) => r.path === path)?.query.getAll('group_by') ?? [];
    expect(groupBy(COMPLETIONS)).toEqual(['model', 'project_id', 'api_key_id', 'batch', 'service_tier']);
    expect(groupBy(EMBEDDINGS)).toEqual(['model', 'project_id', 'api_key_id']);
    expect(groupBy(OPENAI_COSTS)).toEqual(['project_id', 'line_item']);
    expect(openai.requests[1]?.query.get('page')).toBe(`page_${Buffer.from('2').toString('base64')}`);
    expect(openai.requests[2]?.query.get('page')).toBe(`page_${Buffer.from('4').toString('base64')}`);
  });

  it('keeps a path prefix of the base URL', async () => {
    const proxied = new URL('/proxy/', openai.url);

    await failure(fetchUsage(openAiOptions({ baseUrl: proxied })));

    expect(openai.requests[0]?.path).toBe(`/proxy${COMPLETIONS}`);
  });
});

describe('fetchUsage: openai bill', () => {
  it('loads every line of the Costs API per project and line item, amounts (JSON numbers of dollars) exactly', async () => {
    openai.billed = [
      { date: DATE, description: 'input_tokens', amount_usd: '0.06', project_id: 'proj_abc' },
      { date: DATE, description: 'output_tokens', amount_usd: '1.2378912', project_id: 'proj_abc' },
      // One line split over two results on two pages (e.g. per API key): summed exactly, 0.1 + 0.2.
      { date: DATE, description: 'Image models', amount_usd: '0.1', separate: true },
      { date: DATE, description: 'Image models', amount_usd: '0.2', separate: true },
    ];

    const { billed } = await fetchUsage(openAiOptions());

    expect(billed).toEqual([
      { usage_date: DATE, provider: 'openai', project_id: 'proj_abc', model: null, service_tier: null, description: 'input_tokens', amount_usd: '0.060000000' },
      { usage_date: DATE, provider: 'openai', project_id: 'proj_abc', model: null, service_tier: null, description: 'output_tokens', amount_usd: '1.237891200' },
      { usage_date: DATE, provider: 'openai', project_id: null, model: null, service_tier: null, description: 'Image models', amount_usd: '0.300000000' },
    ]);
  });

  it('sends the amount as the JSON number of dollars the spec documents', async () => {
    openai.billed = [{ date: DATE, description: 'input_tokens', amount_usd: '0.06', project_id: 'proj_abc' }];
    const url = new URL(OPENAI_COSTS, openai.url);
    url.search = `start_time=${Date.parse(`${DATE}T00:00:00Z`) / 1000}&bucket_width=1d&group_by=project_id&group_by=line_item`;

    const body: any = await (await fetch(url, { headers: { authorization: `Bearer ${OPENAI_KEY}` } })).json();

    expect(body.data[0].results).toEqual([
      { object: 'organization.costs.result', amount: { value: 0.06, currency: 'usd' }, line_item: 'input_tokens', project_id: 'proj_abc', api_key_id: null, quantity: null, quantity_unit: null },
    ]);
  });

  it('answers billed: [] for a day the bill has no line, and billed: null when the provider has no costs endpoint (404)', async () => {
    openai.billed = [];
    expect((await fetchUsage(openAiOptions())).billed).toEqual([]);

    openai.billed = null;
    const result = await fetchUsage(openAiOptions());

    expect(result.billed).toBeNull();
    expect(result.rows.length).toBeGreaterThan(0);
  });

  it('refuses a bill in a currency other than USD', async () => {
    openai.billed = [{ date: DATE, description: 'input_tokens', amount_usd: '5', currency: 'eur' }];

    const error = await failure(fetchUsage(openAiOptions()));

    expect(error).toBeInstanceOf(ProviderResponseError);
    expect(error.message).toMatch(/costs API answered an amount in a currency other than USD/);
  });
});

describe('fetchUsage: anthropic usage', () => {
  it('keeps cache reads (90% of the input here) apart from uncached input, and both cache-write TTLs apart', async () => {
    anthropic.usage = [
      {
        date: DATE,
        model: 'claude-sonnet-4-5-20250929',
        project_id: 'wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ',
        api_key_id: 'apikey_01Rj2N8SVvo6BePZj99NhmiT',
        tokens: { input_uncached: 100_000, input_cached: 900_000, cache_write_5m: 20_000, cache_write_1h: 5_000, output: 40_000 },
      },
    ];

    const { rows } = await fetchUsage(anthropicOptions());

    expect(rows).toEqual([
      row('anthropic', 'claude-sonnet-4-5-20250929', {
        project_id: 'wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ',
        api_key_id: 'apikey_01Rj2N8SVvo6BePZj99NhmiT',
        // The usage report counts no requests: 0 means "not reported".
        requests: 0,
        tokens: { input_uncached: 100_000, input_cached: 900_000, cache_write_5m: 20_000, cache_write_1h: 5_000, output: 40_000 },
      }),
    ]);
  });

  it('maps service tiers onto ours, keeping a tier it does not know as Anthropic spells it', async () => {
    const tiers = ['standard', 'batch', 'priority', 'priority_on_demand', 'flex', 'flex_discount', 'turbo'];
    anthropic.usage = tiers.map((tier) => ({ date: DATE, model: tier, tokens: { input_uncached: 1 }, wire: { anthropic: { service_tier: tier } } }));

    const { rows } = await fetchUsage(anthropicOptions());

    expect(Object.fromEntries(rows.map((r) => [r.model, r.service_tier]))).toEqual({
      standard: 'standard',
      batch: 'batch',
      priority: 'priority',
      priority_on_demand: 'priority',
      flex: 'flex',
      flex_discount: 'flex',
      turbo: 'turbo',
    });
  });

  it('keeps workspaces (the default workspace as null), models and tiers apart, sums over pages, and skips the other day', async () => {
    const { rows } = await fetchUsage(anthropicOptions());

    expect(sorted(rows)).toEqual(
      sorted([
        row('anthropic', 'model-a', { project_id: 'p1', tokens: { input_uncached: 90_000, input_cached: 10_000, output: 35_000 } }),
        row('anthropic', 'model-a', { project_id: 'p2', tokens: { input_uncached: 5_000, output: 2_000 } }),
        row('anthropic', 'model-b', { service_tier: 'batch', tokens: { input_uncached: 3_500_000, output: 1_250_000 } }),
        row('anthropic', 'model-c', { tokens: { input_uncached: 1_000, cache_write_5m: 200, output: 9_000 } }),
        row('anthropic', 'unknown', { tokens: { input_uncached: 10, output: 5 } }),
      ]),
    );
    expect(anthropic.requests.filter((r) => r.path === MESSAGES)).toHaveLength(3);
  });

  it('sends x-api-key and anthropic-version, RFC 3339 bounds and group_by[] to both endpoints, and follows next_page', async () => {
    await fetchUsage(anthropicOptions());

    expect(anthropic.requests.map((r) => `${r.path}${r.query.has('page') ? ' (next)' : ''}`)).toEqual([MESSAGES, `${MESSAGES} (next)`, `${MESSAGES} (next)`, COST_REPORT, `${COST_REPORT} (next)`]);
    for (const r of anthropic.requests) {
      expect(r.headers['x-api-key']).toBe(ANTHROPIC_KEY);
      expect(r.headers['anthropic-version']).toBe('2023-06-01');
      expect(r.headers.authorization).toBeUndefined();
      expect(r.query.get('starting_at')).toBe(`${DATE}T00:00:00Z`);
      expect(r.query.get('ending_at')).toBe('2026-11-28T00:00:00Z');
      expect(r.query.get('bucket_width')).toBe('1d');
    }
    expect(anthropic.requests[0]?.query.getAll('group_by[]')).toEqual(['model', 'workspace_id', 'api_key_id', 'service_tier']);
    expect(anthropic.requests[3]?.query.getAll('group_by[]')).toEqual(['workspace_id', 'description']);
    expect(anthropic.requests[1]?.query.get('page')).toBe(`page_${Buffer.from('2').toString('base64')}`);
  });
});

describe('fetchUsage: anthropic bill', () => {
  it('loads the cost report per workspace and description with its model and tier, cents read exactly ("123.78912" → $1.2378912)', async () => {
    anthropic.billed = [
      { date: DATE, description: 'Claude Sonnet 4 Usage - Input Tokens', amount_usd: '1.2378912', project_id: 'wrkspc_01', model: 'claude-sonnet-4-20250514', service_tier: 'standard' },
      { date: DATE, description: 'Claude Haiku 4.5 Usage - Output Tokens, Batch', amount_usd: '0.06', model: 'claude-haiku-4-5-20251001', service_tier: 'batch' },
      { date: DATE, description: 'Web Search Usage', amount_usd: '0.01', project_id: 'wrkspc_01' },
    ];

    const { billed } = await fetchUsage(anthropicOptions());

    expect(billed).toEqual([
      { usage_date: DATE, provider: 'anthropic', project_id: 'wrkspc_01', model: 'claude-sonnet-4-20250514', service_tier: 'standard', description: 'Claude Sonnet 4 Usage - Input Tokens', amount_usd: '1.237891200' },
      { usage_date: DATE, provider: 'anthropic', project_id: null, model: 'claude-haiku-4-5-20251001', service_tier: 'batch', description: 'Claude Haiku 4.5 Usage - Output Tokens, Batch', amount_usd: '0.060000000' },
      { usage_date: DATE, provider: 'anthropic', project_id: 'wrkspc_01', model: null, service_tier: null, description: 'Web Search Usage', amount_usd: '0.010000000' },
    ]);
  });

  it('is answered amounts as decimal strings of cents, as the reference documents', async () => {
    anthropic.billed = [{ date: DATE, description: 'Claude Sonnet 4 Usage - Input Tokens', amount_usd: '1.2378912', project_id: 'wrkspc_01', model: 'claude-sonnet-4-20250514', service_tier: 'standard' }];
    const url = new URL(COST_REPORT, anthropic.url);
    url.search = `starting_at=${DATE}T00:00:00Z&bucket_width=1d&group_by[]=workspace_id&group_by[]=description`;

    const body: any = await (await fetch(url, { headers: { 'x-api-key': ANTHROPIC_KEY, 'anthropic-version': '2023-06-01' } })).json();

    expect(body.data[0].results[0]).toMatchObject({ amount: '123.78912', currency: 'USD', cost_type: 'tokens', workspace_id: 'wrkspc_01' });
  });

  it('answers billed: null when the provider has no cost report (404)', async () => {
    anthropic.billed = null;

    const result = await fetchUsage(anthropicOptions());

    expect(result.billed).toBeNull();
    expect(result.rows).toHaveLength(5);
  });
});

describe('fetchUsage: failures', () => {
  const providers = [
    { name: 'openai', fake: () => openai, options: openAiOptions, key: OPENAI_KEY, costs: OPENAI_COSTS },
    { name: 'anthropic', fake: () => anthropic, options: anthropicOptions, key: ANTHROPIC_KEY, costs: COST_REPORT },
  ] as const;

  describe.each(providers)('$name', ({ fake, options, key, costs }) => {
    /** Requests a clean fetch of the day makes (every page of every endpoint). */
    async function cleanRequests(): Promise<number> {
      await fetchUsage(options());
      const n = fake().requests.length;
      fake().requests.length = 0;
      return n;
    }

    it('succeeds after two 503s, in three tries of the first page', async () => {
      const clean = await cleanRequests();
      fake().script.push({ kind: 'status', status: 503 }, { kind: 'status', status: 503 });

      const result = await fetchUsage(options());

      expect(result.rows).toHaveLength(5);
      expect(result.billed).toHaveLength(3);
      expect(fake().requests).toHaveLength(clean + 2);
      expect(logs.find('WARNING', 'retrying')).toHaveLength(2);
    });

    it('gives up with a retryable UNAVAILABLE after maxAttempts tries of a provider that always answers 503', async () => {
      fake().fallback = { kind: 'status', status: 503 };

      const error = await failure(fetchUsage(options()));

      expect(error).toBeInstanceOf(UnavailableError);
      expect(error.retryable).toBe(true);
      expect(error.message).toMatch(/usage API answered HTTP 503 \(4 tries\)/);
      expect(fake().requests).toHaveLength(FAST.maxAttempts);
    });

    it('honours a short Retry-After on 429 and then succeeds', async () => {
      const clean = await cleanRequests();
      fake().script.push({ kind: 'status', status: 429, retryAfter: '1' });
      const started = now();

      const result = await fetchUsage(options());

      expect(result.rows).toHaveLength(5);
      expect(now() - started).toBeGreaterThanOrEqual(990);
      expect(fake().requests).toHaveLength(clean + 1);
    });

    it('does not wait out a long Retry-After: UNAVAILABLE at once, carrying it', async () => {
      fake().script.push({ kind: 'status', status: 429, retryAfter: '120' });

      const error = await failure(fetchUsage(options()));

      expect(error).toBeInstanceOf(UnavailableError);
      expect(error.retryAfterSeconds).toBe(120);
      expect(fake().requests).toHaveLength(1);
    });

    it('fails at once, not retryable, with a safe message when the key is rejected (401)', async () => {
      const wrongKey = `${key}-revoked`;

      const error = await failure(fetchUsage(options({ credential: wrongKey })));

      expect(error).toBeInstanceOf(ProviderCredentialError);
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(/admin key was rejected \(HTTP 401\)/);
      expect(fake().requests).toHaveLength(1);
      expectNoSecret(error, wrongKey);
    });

    it('fails at once, not retryable, when the provider answers 403', async () => {
      fake().script.push({ kind: 'status', status: 403 });

      const error = await failure(fetchUsage(options()));

      expect(error).toBeInstanceOf(ProviderCredentialError);
      expect(fake().requests).toHaveLength(1);
    });

    it.each([
      { case: 'a body that is not JSON', behaviour: { kind: 'malformed' } as const, message: /not JSON/ },
      { case: 'JSON that is not the documented shape', behaviour: { kind: 'wrongShape' } as const, message: /not the documented shape/ },
      { case: 'HTTP 404', behaviour: { kind: 'status', status: 404 } as const, message: /usage API answered HTTP 404/ },
      { case: 'a bucket of another day', behaviour: { kind: 'otherDay' } as const, message: /bucket outside the requested day/ },
    ])('fails at once, not retryable, on $case from the usage endpoint', async ({ behaviour, message }) => {
      fake().script.push(behaviour);

      const error = await failure(fetchUsage(options()));

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('scripted');
      expect(fake().requests).toHaveLength(1);
    });

    it.each([
      { case: 'HTTP 403', behaviour: { kind: 'status', status: 403 } as const, type: ProviderCredentialError, message: /admin key was rejected \(HTTP 403\)/ },
      { case: 'HTTP 400', behaviour: { kind: 'status', status: 400 } as const, type: ProviderResponseError, message: /costs API answered HTTP 400/ },
      { case: 'a body that is not JSON', behaviour: { kind: 'malformed' } as const, type: ProviderResponseError, message: /costs API answered a body that is not JSON/ },
      { case: 'a bucket of another day', behaviour: { kind: 'otherDay' } as const, type: ProviderResponseError, message: /costs API answered a bucket outside the requested day/ },
    ])('classifies $case from the costs endpoint like a usage error', async ({ behaviour, type, message }) => {
      fake().script.push({ ...behaviour, path: costs });

      const error = await failure(fetchUsage(options()));

      expect(error).toBeInstanceOf(type);
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(message);
    });

    it('retries a costs endpoint that answers 5xx, and gives up UNAVAILABLE', async () => {
      fake().fallback = { kind: 'status', status: 502, path: costs };

      const error = await failure(fetchUsage(options()));

      expect(error).toBeInstanceOf(UnavailableError);
      expect(error.message).toMatch(/costs API answered HTTP 502 \(4 tries\)/);
      expect(fake().requests.filter((r) => r.path === costs)).toHaveLength(FAST.maxAttempts);
    });

    it('takes a 404 on a later page of the bill as a broken answer, not a missing bill', async () => {
      fake().script.push({ kind: 'ok', path: costs }, { kind: 'status', status: 404, path: costs });

      const error = await failure(fetchUsage(options()));

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect(error.message).toMatch(/costs API answered HTTP 404/);
    });

    it('stops a provider whose pages never end after maxPages requests', async () => {
      fake().fallback = { kind: 'endlessPages' };

      const error = await failure(fetchUsage(options({ maxPages: 5 })));

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect(error.message).toMatch(/more than 5 pages/);
      expect(fake().requests).toHaveLength(5);
    });

    it('stops a provider that hands back the same cursor', async () => {
      fake().fallback = { kind: 'repeatCursor' };

      const error = await failure(fetchUsage(options()));

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect(error.message).toMatch(/repeated a page cursor/);
      expect(fake().requests).toHaveLength(2);
    });

    it('ends a hanging provider within the invocation budget with a retryable DEADLINE_EXCEEDED', async () => {
      fake().fallback = { kind: 'hang' };
      const deadline = new Deadline({ timeoutMs: 1_500, safetyMarginMs: 500 });
      const started = now();

      const error = await failure(runWithDeadline(deadline, () => fetchUsage(options())));
      deadline.dispose();

      const elapsed = now() - started;
      expect(error).toBeInstanceOf(DeadlineExceededError);
      expect(error.retryable).toBe(true);
      expect(elapsed).toBeGreaterThanOrEqual(950);
      expect(elapsed).toBeLessThan(1_500);
      expect(fake().requests).toHaveLength(1);
    });

    it('asks for one integration budget for the whole fetch: every page of every endpoint, the bill included', async () => {
      const result = await fetchUsage(options());

      expect(budgets.tiers).toEqual(['integration']);
      expect(result.billed).not.toBeNull();
      expect(new Set(fake().requests.map((r) => r.path)).size).toBeGreaterThanOrEqual(2);
    });

    it('runs the whole fetch — every page of every endpoint — under that one budget, not one per request', async () => {
      // Each request alone fits the budget easily; together they do not.
      fake().fallback = { kind: 'slow', ms: 300 };
      const deadline = new Deadline({ timeoutMs: 1_500, safetyMarginMs: 500 });
      const started = now();

      const error = await failure(runWithDeadline(deadline, () => fetchUsage(options())));
      deadline.dispose();

      const elapsed = now() - started;
      expect(error).toBeInstanceOf(DeadlineExceededError);
      expect(elapsed).toBeGreaterThanOrEqual(950);
      expect(elapsed).toBeLessThan(1_400);
      expect(fake().requests).toHaveLength(4);
    });

    it('does not start a wait that would outlast the budget: UNAVAILABLE at once', async () => {
      fake().script.push({ kind: 'status', status: 503, retryAfter: '5' });
      const deadline = new Deadline({ timeoutMs: 2_000, safetyMarginMs: 0 });
      const started = now();

      const error = await failure(runWithDeadline(deadline, () => fetchUsage(options())));
      deadline.dispose();

      expect(error).toBeInstanceOf(UnavailableError);
      expect(error.retryable).toBe(true);
      expect(error.retryAfterSeconds).toBe(5);
      expect(now() - started).toBeLessThan(500);
      expect(fake().requests).toHaveLength(1);
      expect(logs.find('WARNING', 'giving up')[0]).toMatchObject({ reason: 'budget too short to wait', status: 503, attempt: 1 });
    });

    it('stops when the caller aborts', async () => {
      fake().fallback = { kind: 'hang' };
      const controller = new AbortController();
      setTimeout(() => controller.abort(new UnavailableError('shutting down')), 100);

      const error = await failure(fetchUsage(options({ signal: controller.signal })));

      expect(error).toBeInstanceOf(UnavailableError);
      expect(error.message).toBe('shutting down');
    });

    it('fails without calling the provider when no key is stored', async () => {
      const error = await failure(fetchUsage(options({ credential: undefined })));

      expect(error).toBeInstanceOf(ProviderCredentialError);
      expect(error.retryable).toBe(false);
      expect(fake().requests).toHaveLength(0);
    });
  });

  it('retries a provider that cannot be reached, then answers UNAVAILABLE', async () => {
    // A port that was just free: connections are refused.
    const closed = await freePort();

    const error = await failure(fetchUsage(openAiOptions({ baseUrl: new URL(`http://127.0.0.1:${closed}`) })));

    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.message).toMatch(/could not be reached \(4 tries\)/);
    expect(logs.find('WARNING', 'retrying')).toHaveLength(3);
  });

  it.each(['demo', 'mistral'])('refuses %s (no provider usage API is read for it) as a bad payload, without a request', async (provider) => {
    const error = await failure(fetchUsage(openAiOptions({ provider: provider as 'openai' })));

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.retryable).toBe(false);
    expect(openai.requests).toHaveLength(0);
  });

  it('refuses a date that is not a calendar day as a bad payload', async () => {
    const error = await failure(fetchUsage(openAiOptions({ date: '2026-02-30' })));

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(openai.requests).toHaveLength(0);
  });
});

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Deadline, now, runWithDeadline } from '../../shared/deadline/index.js';
import { DeadlineExceededError, InvalidArgumentError, UnavailableError, type AppError } from '../../shared/errors/index.js';
import { DEMO_PROVIDERS, ProviderCredentialError, ProviderResponseError, demoUsageForDay, fetchUsage, type FetchUsageOptions } from '../../shared/providers/index.js';
import { freePort } from '../../dev/freePort.js';
import { demoUsageRows } from '../../dev/seedDemo.js';
import { startFakeAnthropic, startFakeOpenAi, type FakeProvider, type FakeUsage } from '../fixtures/providers/fakeProvider.js';
import { captureLogs, type CapturedLogs } from '../fixtures/runtime/logs.js';

const DATE = '2026-11-27';
const OPENAI_KEY = 'sk-admin-openai-0123456789abcdef';
const ANTHROPIC_KEY = 'sk-ant-admin01-0123456789abcdef';
/** Fast backoff: the tests count requests, they do not wait out real backoffs. */
const FAST = { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20 };

/** Five models on the day (three pages of two), plus one on the day before that must not be counted. */
const USAGE: FakeUsage[] = [
  { date: DATE, model: 'gpt-4o', requests: 120, uncached_input_tokens: 90_000, cached_input_tokens: 10_000, output_tokens: 35_000 },
  { date: DATE, model: 'gpt-4o-mini', requests: 5_000, uncached_input_tokens: 3_500_000, output_tokens: 1_250_000 },
  { date: DATE, model: 'o3', requests: 7, uncached_input_tokens: 1_000, cache_creation_5m_tokens: 200, cache_creation_1h_tokens: 50, output_tokens: 9_000 },
  // The same model again, as a second result (e.g. another project): summed with the first.
  { date: DATE, model: 'gpt-4o', requests: 30, uncached_input_tokens: 5_000, output_tokens: 2_000 },
  { date: DATE, model: null, requests: 1, uncached_input_tokens: 10, output_tokens: 5 },
  { date: '2026-11-26', model: 'gpt-4o', requests: 999, uncached_input_tokens: 999, output_tokens: 999 },
];

let openai: FakeProvider;
let anthropic: FakeProvider;
let logs: CapturedLogs;

beforeAll(async () => {
  openai = await startFakeOpenAi({ adminKey: OPENAI_KEY, usage: USAGE, pageSize: 2 });
  anthropic = await startFakeAnthropic({ adminKey: ANTHROPIC_KEY, usage: USAGE, pageSize: 2 });
});

afterAll(async () => {
  await Promise.all([openai.close(), anthropic.close()]);
});

beforeEach(() => {
  for (const fake of [openai, anthropic]) {
    fake.requests.length = 0;
    fake.script.length = 0;
    fake.fallback = { kind: 'ok' };
  }
  logs = captureLogs('DEBUG');
});

afterEach(() => {
  logs.restore();
});

function openAiOptions(overrides: Partial<FetchUsageOptions> = {}): FetchUsageOptions {
  return { provider: 'openai', orgSlug: 'acme_corp', date: DATE, credential: OPENAI_KEY, baseUrl: openai.url, retry: FAST, ...overrides };
}

function anthropicOptions(overrides: Partial<FetchUsageOptions> = {}): FetchUsageOptions {
  return { provider: 'anthropic', orgSlug: 'acme_corp', date: DATE, credential: ANTHROPIC_KEY, baseUrl: anthropic.url, retry: FAST, ...overrides };
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

const byModel = (a: { model: string }, b: { model: string }): number => a.model.localeCompare(b.model);

describe('fetchUsage: openai', () => {
  it('pulls every page of the day and sums the results per model', async () => {
    const result = await fetchUsage(openAiOptions());

    expect(result.providersCovered).toEqual(['openai']);
    expect(result.rows.sort(byModel)).toEqual([
      // input_tokens already includes input_cached_tokens: 90,000 + 10,000 + 5,000.
      { usage_date: DATE, provider: 'openai', model: 'gpt-4o', requests: 150, input_tokens: 105_000, output_tokens: 37_000 },
      { usage_date: DATE, provider: 'openai', model: 'gpt-4o-mini', requests: 5_000, input_tokens: 3_500_000, output_tokens: 1_250_000 },
      { usage_date: DATE, provider: 'openai', model: 'o3', requests: 7, input_tokens: 1_000, output_tokens: 9_000 },
      { usage_date: DATE, provider: 'openai', model: 'unknown', requests: 1, input_tokens: 10, output_tokens: 5 },
    ]);
    expect(openai.requests).toHaveLength(3);
  });

  it('asks for one 1d bucket grouped by model with the admin key as a bearer token, then follows next_page', async () => {
    await fetchUsage(openAiOptions());

    const [first, second, third] = openai.requests;
    const start = String(Date.parse(`${DATE}T00:00:00Z`) / 1000);
    expect(first?.path).toBe('/v1/organization/usage/completions');
    expect(first?.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(Object.fromEntries(first?.query ?? [])).toEqual({ start_time: start, end_time: String(Number(start) + 86_400), bucket_width: '1d', group_by: 'model', limit: '31' });
    expect(second?.query.get('page')).toBe(`page_${Buffer.from('2').toString('base64')}`);
    expect(third?.query.get('page')).toBe(`page_${Buffer.from('4').toString('base64')}`);
  });

  it('keeps a path prefix of the base URL', async () => {
    const proxied = new URL('/proxy/', openai.url);

    await failure(fetchUsage(openAiOptions({ baseUrl: proxied })));

    expect(openai.requests[0]?.path).toBe('/proxy/v1/organization/usage/completions');
  });
});

describe('fetchUsage: anthropic', () => {
  it('pulls every page and counts cache reads and writes as input tokens, with 0 requests (not reported)', async () => {
    const result = await fetchUsage(anthropicOptions());

    expect(result.providersCovered).toEqual(['anthropic']);
    expect(result.rows.sort(byModel)).toEqual([
      { usage_date: DATE, provider: 'anthropic', model: 'gpt-4o', requests: 0, input_tokens: 105_000, output_tokens: 37_000 },
      { usage_date: DATE, provider: 'anthropic', model: 'gpt-4o-mini', requests: 0, input_tokens: 3_500_000, output_tokens: 1_250_000 },
      // uncached 1,000 + cache writes 200 (5 min) + 50 (1 h).
      { usage_date: DATE, provider: 'anthropic', model: 'o3', requests: 0, input_tokens: 1_250, output_tokens: 9_000 },
      { usage_date: DATE, provider: 'anthropic', model: 'unknown', requests: 0, input_tokens: 10, output_tokens: 5 },
    ]);
    expect(anthropic.requests).toHaveLength(3);
  });

  it('sends x-api-key and anthropic-version, RFC 3339 bounds and group_by[]=model', async () => {
    await fetchUsage(anthropicOptions());

    const [first, second] = anthropic.requests;
    expect(first?.path).toBe('/v1/organizations/usage_report/messages');
    expect(first?.headers['x-api-key']).toBe(ANTHROPIC_KEY);
    expect(first?.headers['anthropic-version']).toBe('2023-06-01');
    expect(first?.headers.authorization).toBeUndefined();
    expect(first?.query.get('starting_at')).toBe(`${DATE}T00:00:00Z`);
    expect(first?.query.get('ending_at')).toBe('2026-11-28T00:00:00Z');
    expect(first?.query.getAll('group_by[]')).toEqual(['model']);
    expect(first?.query.get('bucket_width')).toBe('1d');
    expect(second?.query.get('page')).toBe(`page_${Buffer.from('2').toString('base64')}`);
  });
});

describe('fetchUsage: failures', () => {
  const providers = [
    { name: 'openai', fake: () => openai, options: openAiOptions, key: OPENAI_KEY },
    { name: 'anthropic', fake: () => anthropic, options: anthropicOptions, key: ANTHROPIC_KEY },
  ] as const;

  describe.each(providers)('$name', ({ fake, options, key }) => {
    it('succeeds after two 503s, in three tries of the first page', async () => {
      fake().script.push({ kind: 'status', status: 503 }, { kind: 'status', status: 503 });

      const result = await fetchUsage(options());

      expect(result.rows).toHaveLength(4);
      // 2 failures + 3 pages.
      expect(fake().requests).toHaveLength(5);
      expect(logs.find('WARNING', 'retrying')).toHaveLength(2);
    });

    it('gives up with a retryable UNAVAILABLE after maxAttempts tries of a provider that always answers 503', async () => {
      fake().fallback = { kind: 'status', status: 503 };

      const error = await failure(fetchUsage(options()));

      expect(error).toBeInstanceOf(UnavailableError);
      expect(error.retryable).toBe(true);
      expect(error.message).toMatch(/answered HTTP 503 \(4 tries\)/);
      expect(fake().requests).toHaveLength(FAST.maxAttempts);
    });

    it('honours a short Retry-After on 429 and then succeeds', async () => {
      fake().script.push({ kind: 'status', status: 429, retryAfter: '1' });
      const started = now();

      const result = await fetchUsage(options());

      expect(result.rows).toHaveLength(4);
      expect(now() - started).toBeGreaterThanOrEqual(990);
      expect(fake().requests).toHaveLength(4);
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
      { case: 'HTTP 404', behaviour: { kind: 'status', status: 404 } as const, message: /answered HTTP 404/ },
    ])('fails at once, not retryable, on $case', async ({ behaviour, message }) => {
      fake().script.push(behaviour);

      const error = await failure(fetchUsage(options()));

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('scripted');
      expect(fake().requests).toHaveLength(1);
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

  it('refuses a provider without a usage pipeline as a bad payload', async () => {
    const error = await failure(fetchUsage(openAiOptions({ provider: 'mistral' as 'openai' })));

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.retryable).toBe(false);
  });

  it('refuses a date that is not a calendar day as a bad payload', async () => {
    const error = await failure(fetchUsage(openAiOptions({ date: '2026-02-30' })));

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(openai.requests).toHaveLength(0);
  });
});

describe('fetchUsage: demo', () => {
  it('gives the same rows for the same org and day, every time', async () => {
    const first = await fetchUsage({ provider: 'demo', orgSlug: 'acme_corp', date: DATE });
    const second = await fetchUsage({ provider: 'demo', orgSlug: 'acme_corp', date: DATE });

    expect(second).toEqual(first);
    expect(first.rows.length).toBeGreaterThan(3);
    for (const row of first.rows) {
      expect(row.usage_date).toBe(DATE);
      for (const n of [row.requests, row.input_tokens, row.output_tokens]) expect(Number.isSafeInteger(n) && n > 0).toBe(true);
    }
  });

  it('gives another org other numbers', async () => {
    const a = await fetchUsage({ provider: 'demo', orgSlug: 'acme_corp', date: DATE });
    const b = await fetchUsage({ provider: 'demo', orgSlug: 'other_org', date: DATE });

    expect(b.rows).not.toEqual(a.rows);
  });

  it('covers every demo provider, including one without rows that day', async () => {
    const result = await fetchUsage({ provider: 'demo', orgSlug: 'acme_corp', date: DATE });

    expect(result.providersCovered).toEqual(['anthropic', 'google', 'mistral', 'openai']);
    expect(DEMO_PROVIDERS).toEqual(result.providersCovered);
    for (const row of result.rows) expect(result.providersCovered).toContain(row.provider);
  });

  it('is row for row what the demo seed stores for that day', () => {
    const seeded = demoUsageRows({ orgSlug: 'acme_corp', days: 30, endDate: '2026-11-30' }).filter((r) => r.usage_date === DATE);

    const pipeline = demoUsageForDay({ orgSlug: 'acme_corp', date: DATE });

    expect(pipeline).toEqual(seeded.map(({ usage_date, provider, model, requests, input_tokens, output_tokens }) => ({ usage_date, provider, model, requests, input_tokens, output_tokens })));
  });

  it('refuses a slug that is not valid', async () => {
    await expect(fetchUsage({ provider: 'demo', orgSlug: 'Bad Slug', date: DATE })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

import { describe, expect, it } from 'vitest';
import { catalogueEntries, isResolved, modelMatches, priceUsage, resolvePrice, type MatchMode, type PriceEntry, type ResolvedPrice, type Unresolved } from '../../shared/pricing/index.js';
import { CATALOGUE_ENTRIES, TIER_MULTIPLIERS } from '../../shared/pricing/catalogueEntries.js';
import { tokenCounts, type TokenCounts, type UsageRow } from '../../shared/usage/index.js';

/** An org entry for openai, standard, in force since always, unless said otherwise. */
function entry(fields: Partial<PriceEntry> & Pick<PriceEntry, 'model'>): PriceEntry {
  return {
    provider: 'openai',
    match: 'snapshots',
    service_tier: 'standard',
    effective_from: '1970-01-01',
    prices_per_mtok_usd: { input: '1', output: '2' },
    source: 'org',
    ...fields,
  };
}

function usage(fields: Partial<Omit<UsageRow, 'tokens'>> & { tokens: Partial<TokenCounts> }): UsageRow {
  return {
    usage_date: '2025-10-01',
    provider: 'openai',
    model: 'gpt-4o',
    service_tier: 'standard',
    project_id: null,
    api_key_id: null,
    requests: 0,
    ...fields,
    tokens: tokenCounts(fields.tokens),
  };
}

function resolved(found: ResolvedPrice | Unresolved): ResolvedPrice {
  if (!isResolved(found)) throw new Error(`expected a price, got: ${found.reason}`);
  return found;
}

describe('modelMatches', () => {
  it.each<[string, MatchMode, string, boolean]>([
    ['gpt-4o', 'snapshots', 'gpt-4o', true],
    ['gpt-4o', 'snapshots', 'gpt-4o-2024-08-06', true],
    ['gpt-4o', 'snapshots', 'gpt-4o-mini-2024-07-18', false],
    ['gpt-4o', 'snapshots', 'gpt-4o-mini', false],
    ['gpt-4o-mini', 'snapshots', 'gpt-4o-mini-2024-07-18', true],
    ['claude-sonnet-4-5', 'snapshots', 'claude-sonnet-4-5-20250929', true],
    ['claude-sonnet-4', 'snapshots', 'claude-sonnet-4-5-20250929', false],
    ['gpt-4o', 'snapshots', 'gpt-4o-latest', false],
    ['gpt-4o', 'snapshots', 'gpt-4o-2024-08-06-extra', false],
    ['gpt-4o', 'snapshots', 'gpt-4o-2024-8-6', false],
    ['gpt-4o', 'exact', 'gpt-4o', true],
    ['gpt-4o', 'exact', 'gpt-4o-2024-08-06', false],
    ['claude-sonnet-4-5', 'exact', 'claude-sonnet-4-5-20250929', false],
  ])('an entry for %s (%s) prices %s: %s', (entryModel, match, model, expected) => {
    expect(modelMatches(entryModel, match, model)).toBe(expected);
  });
});

describe('resolvePrice', () => {
  const on = (model: string, usage_date = '2025-10-01', service_tier = 'standard', provider = 'openai'): { provider: string; model: string; service_tier: string; usage_date: string } => ({
    provider,
    model,
    service_tier,
    usage_date,
  });

  it("takes the org's entry over the catalogue's for the same model", () => {
    const entries = [entry({ model: 'gpt-4o', source: 'catalogue' }), entry({ model: 'gpt-4o', prices_per_mtok_usd: { input: '9', output: '9' } })];

    expect(resolved(resolvePrice(entries, on('gpt-4o-2024-08-06'))).entry.source).toBe('org');
  });

  it("takes the org's snapshots entry even over an exact catalogue entry: the source decides first", () => {
    const entries = [entry({ model: 'gpt-4o-2024-08-06', match: 'exact', source: 'catalogue' }), entry({ model: 'gpt-4o' })];

    expect(resolved(resolvePrice(entries, on('gpt-4o-2024-08-06'))).entry).toMatchObject({ source: 'org', model: 'gpt-4o' });
  });

  it('takes an exact entry over a snapshots entry of the same source', () => {
    const entries = [entry({ model: 'gpt-4o' }), entry({ model: 'gpt-4o-2024-05-13', match: 'exact', prices_per_mtok_usd: { input: '5', output: '15' } })];

    expect(resolved(resolvePrice(entries, on('gpt-4o-2024-05-13'))).entry.model).toBe('gpt-4o-2024-05-13');
    expect(resolved(resolvePrice(entries, on('gpt-4o-2024-08-06'))).entry.model).toBe('gpt-4o');
  });

  it.each([
    ['2024-12-31', '1970-01-01'],
    ['2025-01-01', '2025-01-01'],
    ['2025-05-31', '2025-01-01'],
    ['2025-06-01', '2025-06-01'],
    ['2030-01-01', '2025-06-01'],
  ])('on %s takes the entry effective from %s: the newest on or before the day', (day, expected) => {
    const entries = ['2025-06-01', '1970-01-01', '2025-01-01'].map((from) => entry({ model: 'gpt-4o', effective_from: from }));

    expect(resolved(resolvePrice(entries, on('gpt-4o', day))).entry.effective_from).toBe(expected);
  });

  it('takes a tier entry of its own over standard × the multiplier', () => {
    const entries = [entry({ model: 'gpt-4o' }), entry({ model: 'gpt-4o', service_tier: 'batch', prices_per_mtok_usd: { input: '0.4', output: '0.8' } })];

    const price = resolved(resolvePrice(entries, on('gpt-4o', '2025-10-01', 'batch')));

    expect(price.entry.service_tier).toBe('batch');
    expect(price.multiplier).toBeNull();
    expect(price.per_class).toMatchObject({ input: '0.4', output: '0.8' });
  });

  it('prices a tier without an entry as standard × the catalogue multiplier (OpenAI batch 0.5)', () => {
    const price = resolved(resolvePrice([entry({ model: 'gpt-4o', prices_per_mtok_usd: { input: '2.5', output: '10', cached_input: '1.25' } })], on('gpt-4o', '2025-10-01', 'batch')));

    expect(price.entry.service_tier).toBe('standard');
    expect(price.multiplier).toBe('0.5');
    expect(price.per_class).toMatchObject({ input: '1.25', output: '5', cached_input: '0.625', input_audio: null });
  });

  it('says why when a tier has neither an entry nor a multiplier', () => {
    const found = resolvePrice([entry({ provider: 'acme', model: 'm1' })], on('m1', '2025-10-01', 'batch', 'acme'));

    expect(found).toEqual({ reason: 'No batch price for acme/m1, and the catalogue has no batch multiplier for acme' });
  });

  it.each([
    ['no entry prices the model', [entry({ model: 'gpt-4o' })], on('gpt-4o-mini-2024-07-18'), 'No price entry matches openai/gpt-4o-mini-2024-07-18'],
    ['the only entry starts later', [entry({ model: 'gpt-4o', effective_from: '2025-10-02' })], on('gpt-4o'), 'No price for openai/gpt-4o (standard) is in force on 2025-10-01'],
    ['only another provider has the model', [entry({ provider: 'azure', model: 'gpt-4o' })], on('gpt-4o'), 'No price entry matches openai/gpt-4o'],
  ])('says why nothing prices a row when %s', (_name, entries, key, reason) => {
    expect(resolvePrice(entries, key)).toEqual({ reason });
  });

  it('resolves a dated snapshot to the catalogue entry of its model', () => {
    const price = resolved(resolvePrice(catalogueEntries(), on('gpt-4o-mini-2024-07-18')));

    expect(price.entry).toMatchObject({ source: 'catalogue', model: 'gpt-4o-mini' });
    expect(price.per_class).toMatchObject({ input: '0.15', output: '0.6', cached_input: '0.075' });
  });
});

describe('priceUsage', () => {
  const sonnet = (service_tier: string, tokens: Partial<TokenCounts>): UsageRow => usage({ provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', service_tier, tokens });

  it('prices Anthropic Sonnet with 90% cache reads class by class: 100k uncached + 900k cached at $3 / $0.30 per 1M is $0.57 exactly', () => {
    const { rows, totalNanos, unpricedTokens } = priceUsage([sonnet('standard', { input_uncached: 100_000, input_cached: 900_000 })], catalogueEntries());

    // 100,000 × $3 / 1M = $0.30; 900,000 × $0.30 / 1M = $0.27.
    expect(rows[0]?.cost_usd).toBe('0.570000000');
    expect(totalNanos).toBe(570_000_000n);
    expect(unpricedTokens).toBe(0);
    expect(rows[0]?.price_entry).toBe('catalogue:anthropic/claude-sonnet-4-5/snapshots/standard/1970-01-01');
    // The old rule priced every input token at the one input rate: 1,000,000 × $3 / 1M =
    // $3.00, about 5.3× what the cache reads actually cost.
    const oldSingleRateNanos = 3_000_000_000n;
    expect(Number(oldSingleRateNanos) / Number(totalNanos)).toBeCloseTo(5.26, 2);
  });

  it('prices batch at half the standard rate when the tier has no entry of its own', () => {
    const tokens = { input_uncached: 1_000_000, input_cached: 1_000_000, cache_write_5m: 1_000_000, output: 1_000_000 };

    const { rows } = priceUsage([sonnet('standard', tokens), sonnet('batch', tokens)], catalogueEntries());

    // $3 + $0.30 + $3.75 + $15 = $22.05 standard; batch is half of it.
    expect(rows.map((r) => r.cost_usd)).toEqual(['22.050000000', '11.025000000']);
  });

  it('counts tokens of a class the entry has no price for as unpriced, costing 0, never at another class’s rate', () => {
    const row = usage({ model: 'gpt-4o-mini-2024-07-18', tokens: { input_uncached: 1_000_000, input_audio: 1_000 } });

    const { rows, unpricedRows, unpricedTokens } = priceUsage([row], catalogueEntries());

    expect(rows[0]).toMatchObject({ cost_usd: '0.150000000', unpriced_tokens: 1_000 });
    expect(unpricedRows).toBe(1);
    expect(unpricedTokens).toBe(1_000);
  });

  it('leaves a row no entry prices all unpriced, at cost 0', () => {
    const row = usage({ provider: 'acme', model: 'mystery-1', tokens: { input_uncached: 500, output: 250 } });

    const { rows, totalNanos, unpricedRows, unpricedTokens } = priceUsage([row], catalogueEntries());

    expect(rows[0]).toMatchObject({ cost_usd: '0.000000000', cost_nanos: 0n, unpriced_tokens: 750, price_entry: null });
    expect(totalNanos).toBe(0n);
    expect([unpricedRows, unpricedTokens]).toEqual([1, 750]);
  });

  it('prices with an org entry over the catalogue, exactly to the nano-dollar', () => {
    const org = entry({ model: 'gpt-4o-mini', prices_per_mtok_usd: { input: '0.0000000001', output: '1234.5' } });

    const { rows } = priceUsage([usage({ model: 'gpt-4o-mini-2024-07-18', tokens: { input_uncached: 7, output: 3 } })], [org, ...catalogueEntries()]);

    // 3 × $1234.5 / 1M = $0.0037035; 7 × $0.0000000001 / 1M rounds away below a nano-dollar.
    expect(rows[0]).toMatchObject({ cost_usd: '0.003703500', price_entry: 'org:openai/gpt-4o-mini/snapshots/standard/1970-01-01' });
  });
});

describe('the shipped catalogue', () => {
  const realDay = (text: string): boolean => /^\d{4}-\d{2}-\d{2}$/.test(text) && new Date(`${text}T00:00:00Z`).toISOString().startsWith(text);
  const httpsPage = (text: string): boolean => /^https:\/\/\S+$/.test(text) && new URL(text).protocol === 'https:';

  it.each(CATALOGUE_ENTRIES.map((e) => [`${e.provider}/${e.model}/${e.service_tier}/${e.effective_from}`, e] as const))(
    'cites the https page %s was read from and the day it was read',
    (_name, e) => {
      expect(httpsPage(e.source_url), `source_url ${e.source_url}`).toBe(true);
      expect(realDay(e.read_on), `read_on ${e.read_on}`).toBe(true);
    },
  );

  it.each(TIER_MULTIPLIERS.map((m) => [`${m.provider}/${m.service_tier}`, m] as const))('cites the https page and day of the %s multiplier', (_name, m) => {
    expect(httpsPage(m.source_url), `source_url ${m.source_url}`).toBe(true);
    expect(realDay(m.read_on), `read_on ${m.read_on}`).toBe(true);
  });

  it('is valid as a whole (prices, dates, no key listed twice), as the functions check it when they start', () => {
    expect(catalogueEntries()).toHaveLength(CATALOGUE_ENTRIES.length);
  });
});

import type { Tenant } from '../../shared/auth/index.js';
import { dateParam, isNotFound, queryPages } from '../../shared/bigquery/index.js';
import { getDb } from '../../shared/db/index.js';
import { log } from '../../shared/log/index.js';
import { formatDecimal, formatUsd, parseUsd, tokensCostNanos, type Nanos } from '../../shared/money/index.js';
import {
  catalogueEntries,
  isResolved,
  loadOrgPriceEntries,
  MULTIPLIER_SCALE,
  PRICE_CLASS_OF,
  PRICE_SCALE,
  resolvePrice,
  type ResolvedPrice,
} from '../../shared/pricing/index.js';
import { TOKEN_CLASSES, type TokenClass } from '../../shared/usage/index.js';
import { exportBilledSql, exportUsageSql } from './exportSql.js';
import { billingPeriodOf, endOfDay, startOfDay, type FocusRow } from './focus.js';
import { accrueDailyByPlan, loadAccruingSubscriptions, type AccruingSubscription } from '../../shared/spend/index.js';
import { dayNumber, type CostsExportQuery } from './schema.js';

/** A stored usage row as the export reads it (`exportUsageSql`). */
type UsageResult = UsageKey & {
  unpriced_tokens: number;
  cost_usd: string | null;
  price_entry: string | null;
} & Record<TokenClass, number>;

/** A stored billed line (`exportBilledSql`). */
interface BilledResult {
  day: string;
  provider: string;
  model: string | null;
  service_tier: string | null;
  project_id: string | null;
  source: string;
  description: string | null;
  billed_cost_usd: string;
}

/** The charge of an LLM row: a token class, or `all` for a row whose cost cannot be split exactly (below). */
export type LlmCharge = TokenClass | 'all';

/** The scale of `ResolvedPrice.units` (USD per 1M tokens). */
const PRICE_UNIT_SCALE = PRICE_SCALE + MULTIPLIER_SCALE;
const ZERO = formatUsd(0n);

const PROVIDER_NAMES: Readonly<Record<string, string>> = { openai: 'OpenAI', anthropic: 'Anthropic' };
const providerName = (provider: string): string => PROVIDER_NAMES[provider] ?? provider;

/**
 * A usage row's cost, class by class — exactly.
 *
 * The stored row has one `cost_usd` for all its classes: `round(Σ tokens(c) × price(c))`,
 * rounded once. We price the row again with the same resolution the pipeline used (the
 * org's entries over the catalogue, for the row's day and tier). When that reproduces the
 * stored cost to the nano-dollar and the same unpriced tokens, the price in force is the
 * one that priced the row, and each class's cost is its own exact product, rounded
 * half-even; the few nano-dollars the per-class rounding leaves (at most one per class)
 * go to the class with the largest exact amount, so the classes add up to the stored cost
 * exactly.
 *
 * When it does not reproduce (a price edited after the day was loaded — loaded days keep
 * their cost —, a row loaded before per-class pricing, a provider the catalogue does not
 * know), no split would be true: the row is one charge `all`, with all its tokens and its
 * whole stored cost. Never an estimate, never a proportional guess.
 */
export function splitByClass(row: UsageResult, resolve: (row: UsageResult) => ResolvedPrice | undefined): Map<LlmCharge, { tokens: number; nanos: Nanos }> {
  const stored = row.cost_usd === null ? 0n : parseUsd(row.cost_usd);
  const whole = (): Map<LlmCharge, { tokens: number; nanos: Nanos }> =>
    new Map([['all', { tokens: TOKEN_CLASSES.reduce((n, c) => n + Number(row[c] ?? 0), 0), nanos: stored }]]);
  const price = resolve(row);
  if (price === undefined) return whole();
  const exact = new Map<TokenClass, bigint>();
  let unpriced = 0;
  let sum = 0n;
  for (const c of TOKEN_CLASSES) {
    const tokens = Number(row[c] ?? 0);
    if (tokens === 0) continue;
    const units = price.units[PRICE_CLASS_OF[c]];
    if (units === null) {
      unpriced += tokens;
      exact.set(c, 0n);
    } else {
      exact.set(c, BigInt(tokens) * units);
      sum += BigInt(tokens) * units;
    }
  }
  if (exact.size === 0 || tokensCostNanos(sum, PRICE_UNIT_SCALE) !== stored || unpriced !== Number(row.unpriced_tokens ?? 0)) return whole();
  const out = new Map<LlmCharge, { tokens: number; nanos: Nanos }>();
  let allotted = 0n;
  let largest: TokenClass | undefined;
  for (const [c, units] of exact) {
    const nanos = tokensCostNanos(units, PRICE_UNIT_SCALE);
    allotted += nanos;
    out.set(c, { tokens: Number(row[c]), nanos });
    if (largest === undefined || units > (exact.get(largest) as bigint)) largest = c;
  }
  const residue = stored - allotted;
  if (residue !== 0n && largest !== undefined) (out.get(largest) as { nanos: Nanos }).nanos += residue;
  return out;
}

/** The columns every row of one org's export shares. */
function accountColumns(tenant: Tenant, day: string): Pick<
  FocusRow,
  'BillingAccountId' | 'BillingAccountName' | 'BillingCurrency' | 'BillingPeriodStart' | 'BillingPeriodEnd' | 'ChargePeriodStart' | 'ChargePeriodEnd' | 'ChargeClass'
> {
  const period = billingPeriodOf(day);
  return {
    BillingAccountId: tenant.orgSlug,
    BillingAccountName: tenant.orgSlug,
    BillingCurrency: 'USD',
    BillingPeriodStart: period.start,
    BillingPeriodEnd: period.end,
    ChargePeriodStart: startOfDay(day),
    ChargePeriodEnd: endOfDay(day),
    ChargeClass: null,
  };
}

/** The key under which adjacent stored rows merge: one FOCUS row per key and charge. */
interface UsageKey {
  day: string;
  provider: string;
  model: string;
  service_tier: string;
  project_id: string | null;
  source: string;
}
const keyOf = (r: UsageKey): string => [r.day, r.provider, r.model, r.service_tier, r.project_id ?? '\u0001', r.source].join('\u0000');
const CHARGE_ORDER: readonly LlmCharge[] = [...TOKEN_CLASSES, 'all'];

function usageRows(tenant: Tenant, key: UsageKey, charges: ReadonlyMap<LlmCharge, { tokens: number; nanos: Nanos }>): FocusRow[] {
  const name = providerName(key.provider);
  const rows: FocusRow[] = [];
  for (const charge of CHARGE_ORDER) {
    const value = charges.get(charge);
    if (value === undefined) continue;
    const cost = formatUsd(value.nanos);
    rows.push({
      // Our estimate is not the invoice: the provider's own figure is on its billed lines.
      BilledCost: ZERO,
      EffectiveCost: cost,
      ListCost: cost,
      ContractedCost: cost,
      ...accountColumns(tenant, key.day),
      ChargeCategory: 'Usage',
      ChargeDescription: `${key.model} ${charge === 'all' ? 'tokens (all classes)' : `${charge} tokens`}, ${key.service_tier} tier`,
      PricingQuantity: formatDecimal(BigInt(value.tokens), 6),
      PricingUnit: '1M Tokens',
      ProviderName: name,
      PublisherName: name,
      InvoiceIssuerName: name,
      ServiceName: `${name} API`,
      ServiceCategory: 'AI and Machine Learning',
      ConsumedQuantity: String(value.tokens),
      ConsumedUnit: 'Tokens',
      SubAccountId: key.project_id,
      SubAccountName: key.project_id,
      x_Model: key.model,
      x_TokenClass: charge,
      x_ServiceTier: key.service_tier,
      x_Source: key.source,
    });
  }
  return rows;
}

function billedRow(tenant: Tenant, line: BilledResult): FocusRow {
  const name = providerName(line.provider);
  return {
    BilledCost: formatUsd(parseUsd(line.billed_cost_usd)),
    // The provider's figure beside our estimate: counting it as effective cost too would count the spend twice.
    EffectiveCost: ZERO,
    ListCost: ZERO,
    ContractedCost: ZERO,
    ...accountColumns(tenant, line.day),
    ChargeCategory: 'Adjustment',
    ChargeDescription: `Cost reported by ${name}${line.description === null ? '' : `: ${line.description}`}`,
    PricingQuantity: null,
    PricingUnit: null,
    ProviderName: name,
    PublisherName: name,
    InvoiceIssuerName: name,
    ServiceName: `${name} API`,
    ServiceCategory: 'AI and Machine Learning',
    ConsumedQuantity: null,
    ConsumedUnit: null,
    SubAccountId: line.project_id,
    SubAccountName: line.project_id,
    x_Model: line.model,
    x_TokenClass: null,
    x_ServiceTier: line.service_tier,
    x_Source: line.source,
  };
}

function saasRow(tenant: Tenant, a: { day: string; vendor: string; plan_name: string; seats: number; nanos: Nanos }): FocusRow {
  const cost = formatUsd(a.nanos);
  return {
    // An accrual spreads the vendor's invoice over the days it covers: effective, not billed, cost.
    BilledCost: ZERO,
    EffectiveCost: cost,
    ListCost: cost,
    ContractedCost: cost,
    ...accountColumns(tenant, a.day),
    ChargeCategory: 'Usage',
    ChargeDescription: `${a.vendor} ${a.plan_name}: ${a.seats} seat${a.seats === 1 ? '' : 's'}, accrued daily`,
    PricingQuantity: String(a.seats),
    PricingUnit: 'Seats',
    ProviderName: a.vendor,
    PublisherName: a.vendor,
    InvoiceIssuerName: a.vendor,
    ServiceName: a.vendor,
    ServiceCategory: 'Business Applications',
    ConsumedQuantity: String(a.seats),
    ConsumedUnit: 'Seats',
    SubAccountId: null,
    SubAccountName: null,
    x_Model: a.plan_name,
    x_TokenClass: null,
    x_ServiceTier: null,
    x_Source: 'saas',
  };
}

/** Pages of a query, or none when the org's dataset or table does not exist (yet). */
async function* pagesOrNone<T>(pages: AsyncGenerator<T[]>, what: string, orgSlug: string): AsyncGenerator<T[]> {
  let first: IteratorResult<T[]>;
  try {
    first = await pages.next();
  } catch (error) {
    if (!isNotFound(error)) throw error;
    log.info(`The org has no ${what} table yet; the export has none of it`, { org_slug: orgSlug });
    return;
  }
  if (first.done === true) return;
  yield first.value;
  yield* pages;
}


/**
 * The tenant's spend over `from`…`to` as FOCUS rows, in batches (one per BigQuery page,
 * then the SaaS accrual a day at a time), for the caller to write out as they come. The
 * same spend as `/v1/costs`: Σ EffectiveCost = `totals.cost_usd`, Σ BilledCost =
 * `totals.billed_cost_usd`.
 *
 * Subscriptions and prices are loaded first (small: an org has at most a few thousand),
 * so a PostgreSQL failure happens before the first byte is written.
 */
export async function* focusBatches(tenant: Tenant, query: CostsExportQuery, pageSize: number): AsyncGenerator<FocusRow[]> {
  const today = new Date().toISOString().slice(0, 10);
  const saasTo = query.to < today ? query.to : today;
  const db = await getDb();
  const providers = [...new Set(catalogueEntries().map((e) => e.provider))];
  const [subs, orgEntries] = await Promise.all([
    saasTo < query.from ? Promise.resolve<AccruingSubscription[]>([]) : loadAccruingSubscriptions(tenant.orgId, query.from, saasTo),
    loadOrgPriceEntries(db, tenant.orgId, providers),
  ]);
  const entries = [...orgEntries, ...catalogueEntries()];
  const prices = new Map<string, ResolvedPrice | undefined>();
  const resolve = (row: UsageResult): ResolvedPrice | undefined => {
    const k = `${row.provider}\u0000${row.model}\u0000${row.service_tier}\u0000${row.day}`;
    if (!prices.has(k)) {
      const found = resolvePrice(entries, { provider: row.provider, model: row.model, service_tier: row.service_tier, usage_date: row.day });
      prices.set(k, isResolved(found) ? found : undefined);
    }
    return prices.get(k);
  };

  const params = { from: await dateParam(query.from), to: await dateParam(query.to) };
  const labels = { endpoint: 'costs_export', format: query.format };

  // Usage: adjacent rows of one key merge; a key is complete when the next one starts.
  let current: { key: string; row: UsageKey; charges: Map<LlmCharge, { tokens: number; nanos: Nanos }> } | undefined;
  const usage = queryPages<UsageResult>({ sql: exportUsageSql(tenant.orgSlug), params, tier: 'user', labels, pageSize });
  for await (const page of pagesOrNone(usage, 'usage', tenant.orgSlug)) {
    const out: FocusRow[] = [];
    for (const row of page) {
      const key = keyOf(row);
      if (current !== undefined && current.key !== key) {
        out.push(...usageRows(tenant, current.row, current.charges));
        current = undefined;
      }
      current ??= { key, row, charges: new Map() };
      for (const [charge, value] of splitByClass(row, resolve)) {
        const sum = current.charges.get(charge);
        if (sum === undefined) current.charges.set(charge, { ...value });
        else {
          sum.tokens += value.tokens;
          sum.nanos += value.nanos;
        }
      }
    }
    if (out.length > 0) yield out;
  }
  if (current !== undefined) yield usageRows(tenant, current.row, current.charges);

  const billed = queryPages<BilledResult>({ sql: exportBilledSql(tenant.orgSlug), params, tier: 'user', labels, pageSize });
  for await (const page of pagesOrNone(billed, 'billed-cost', tenant.orgSlug)) yield page.map((line) => billedRow(tenant, line));

  if (subs.length === 0) return;
  let batch: FocusRow[] = [];
  for (const accrual of accrueDailyByPlan(subs, dayNumber(query.from) as number, dayNumber(saasTo) as number)) {
    batch.push(saasRow(tenant, accrual));
    if (batch.length >= pageSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

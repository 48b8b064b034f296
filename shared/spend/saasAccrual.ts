import { divideHalfEven, parseDecimal, type Nanos } from '../money/index.js';

/** A subscription as its accrual needs it. */
export interface AccruingSubscription {
  vendor: string;
  plan_name: string;
  seats: number;
  /** Exact decimal text (`numeric(20,4)`). */
  unit_price_usd: string;
  billing_cycle: 'monthly' | 'annual';
  /** Days since 1970-01-01. */
  start_day: number;
  /** Days since 1970-01-01, included; null: open-ended. */
  end_day: number | null;
}

/** How the accrual is keyed: by day, or by one of the subscription's own attributes. */
export type AccrualKey = 'day' | 'vendor' | 'plan' | 'constant';

const MS_PER_DAY = 86_400_000;
/** Scale of `unit_price_usd`. */
const PRICE_SCALE = 4;
/** Units of 10^-4 USD → nano-dollars. */
const TO_NANOS = 10n ** BigInt(9 - PRICE_SCALE);

function utc(day: number): Date {
  return new Date(day * MS_PER_DAY);
}

function dayOf(year: number, month: number, date: number): number {
  return Math.round(Date.UTC(year, month, date) / MS_PER_DAY);
}

/** The billing periods of a subscription that overlap [from, to]: [first day, last day] of each, both included. */
function* periods(sub: AccruingSubscription, from: number, to: number): Generator<[number, number]> {
  if (sub.billing_cycle === 'monthly') {
    // Calendar months: the month of `from` (or of the start, if later) onwards.
    const first = utc(Math.max(from, sub.start_day));
    for (let y = first.getUTCFullYear(), m = first.getUTCMonth(); ; m += 1) {
      const start = dayOf(y, m, 1);
      if (start > to) return;
      yield [start, dayOf(y, m + 1, 1) - 1];
    }
  }
  // Annual: years from the start date (a start on 29 February rolls to 1 March in common years, as Date.UTC does).
  const s = utc(sub.start_day);
  for (let k = 0; ; k += 1) {
    const start = dayOf(s.getUTCFullYear() + k, s.getUTCMonth(), s.getUTCDate());
    const next = dayOf(s.getUTCFullYear() + k + 1, s.getUTCMonth(), s.getUTCDate());
    if (start > to) return;
    if (next - 1 >= from) yield [start, next - 1];
  }
}

/**
 * What subscriptions accrue over [from, to] (days since the epoch, both included; `to`
 * already capped at today by the caller), keyed as asked: `seats × unit_price_usd` per
 * calendar month (monthly) or per year from `start_date` (annual), spread evenly over that
 * month's or year's days, from `start_date` to `end_date` inclusive.
 *
 * Exact: each (subscription, period, key) share is `amount × days / period days`, computed
 * in integers and rounded half-even to the nano-dollar once. By day, one share per day.
 * Linear in subscriptions × periods (plus the days of the range), not × days: 5,000
 * subscriptions over 366 days are ~65,000 shares.
 */
export function accrue(subs: readonly AccruingSubscription[], from: number, to: number, key: AccrualKey): Map<string, Nanos> {
  const byKey = new Map<string, Nanos>();
  const add = (k: string, v: Nanos): void => {
    byKey.set(k, (byKey.get(k) ?? 0n) + v);
  };
  // By day: one value per (subscription, period) for each of its days — a difference array
  // over the range keeps it linear in periods, not days.
  const perDay = key === 'day' ? new Array<bigint>(to - from + 2).fill(0n) : undefined;
  for (const sub of subs) {
    const last = Math.min(to, sub.end_day ?? to);
    if (sub.start_day > last) continue;
    const amount = BigInt(sub.seats) * parseDecimal(sub.unit_price_usd, PRICE_SCALE) * TO_NANOS;
    for (const [periodStart, periodEnd] of periods(sub, Math.max(from, sub.start_day), last)) {
      const a = Math.max(periodStart, sub.start_day, from);
      const b = Math.min(periodEnd, last);
      if (a > b) continue;
      const periodDays = BigInt(periodEnd - periodStart + 1);
      if (perDay !== undefined) {
        const daily = divideHalfEven(amount, periodDays);
        perDay[a - from] = (perDay[a - from] as bigint) + daily;
        perDay[b - from + 1] = (perDay[b - from + 1] as bigint) - daily;
        continue;
      }
      const share = divideHalfEven(amount * BigInt(b - a + 1), periodDays);
      add(key === 'vendor' ? sub.vendor : key === 'plan' ? sub.plan_name : '', share);
    }
  }
  if (perDay !== undefined) {
    let running = 0n;
    for (let i = 0; i <= to - from; i += 1) {
      running += perDay[i] as bigint;
      if (running !== 0n) add(utc(from + i).toISOString().slice(0, 10), running);
    }
  }
  return byKey;
}

/** One day's accrual of the subscriptions of one vendor and plan. */
export interface DailyPlanAccrual {
  /** `YYYY-MM-DD`. */
  day: string;
  vendor: string;
  plan_name: string;
  /** Seats of the subscriptions accruing that day. */
  seats: number;
  nanos: Nanos;
}

/**
 * The accrual of [from, to] by day, vendor and plan, in day order (then vendor, plan): the
 * same daily shares as `accrue(…, 'day')` — each (subscription, period) accrues
 * `divideHalfEven(amount, period days)` on each of its days — so the shares of a day add
 * up to that day's figure exactly. Yields as it sweeps the days: what it holds at once is
 * one entry per (subscription, period) and the plans accruing on the current day, never
 * the day × plan grid.
 */
export function* accrueDailyByPlan(subs: readonly AccruingSubscription[], from: number, to: number): Generator<DailyPlanAccrual> {
  interface Change {
    key: string;
    vendor: string;
    plan_name: string;
    daily: Nanos;
    seats: number;
    sign: 1 | -1;
  }
  const changes = new Map<number, Change[]>();
  const at = (offset: number, change: Change): void => {
    const list = changes.get(offset);
    if (list === undefined) changes.set(offset, [change]);
    else list.push(change);
  };
  for (const sub of subs) {
    const last = Math.min(to, sub.end_day ?? to);
    if (sub.start_day > last) continue;
    const amount = BigInt(sub.seats) * parseDecimal(sub.unit_price_usd, PRICE_SCALE) * TO_NANOS;
    const key = `${sub.vendor}\u0000${sub.plan_name}`;
    for (const [periodStart, periodEnd] of periods(sub, Math.max(from, sub.start_day), last)) {
      const a = Math.max(periodStart, sub.start_day, from);
      const b = Math.min(periodEnd, last);
      if (a > b) continue;
      const daily = divideHalfEven(amount, BigInt(periodEnd - periodStart + 1));
      const base = { key, vendor: sub.vendor, plan_name: sub.plan_name, daily, seats: sub.seats };
      at(a - from, { ...base, sign: 1 });
      at(b - from + 1, { ...base, sign: -1 });
    }
  }
  const active = new Map<string, { vendor: string; plan_name: string; nanos: Nanos; seats: number; count: number }>();
  for (let i = 0; i <= to - from; i += 1) {
    for (const c of changes.get(i) ?? []) {
      const entry = active.get(c.key) ?? { vendor: c.vendor, plan_name: c.plan_name, nanos: 0n, seats: 0, count: 0 };
      entry.nanos += BigInt(c.sign) * c.daily;
      entry.seats += c.sign * c.seats;
      entry.count += c.sign;
      if (entry.count === 0) active.delete(c.key);
      else active.set(c.key, entry);
    }
    changes.delete(i);
    if (active.size === 0) continue;
    const day = utc(from + i).toISOString().slice(0, 10);
    for (const key of [...active.keys()].sort()) {
      const e = active.get(key) as { vendor: string; plan_name: string; nanos: Nanos; seats: number };
      yield { day, vendor: e.vendor, plan_name: e.plan_name, seats: e.seats, nanos: e.nanos };
    }
  }
}

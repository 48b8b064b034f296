import { afterEach, describe, expect, it } from 'vitest';
import { Deadline, TIERS, budgetMs, now, runWithDeadline, withBudget, type Tier } from '../../shared/deadline/index.js';
import { DeadlineExceededError } from '../../shared/errors/index.js';

const deadlines: Deadline[] = [];

/** A deadline as the wrappers build it: `timeoutMs` minus a margin, started `agoMs` ago. */
function deadline(timeoutMs: number, { marginMs = 0, agoMs = 0 } = {}): Deadline {
  const d = new Deadline({ timeoutMs, safetyMarginMs: marginMs, startedAt: now() - agoMs });
  deadlines.push(d);
  return d;
}

afterEach(() => {
  for (const d of deadlines.splice(0)) d.dispose();
});

describe('budgetMs(tier, deadline)', () => {
  it.each<{ case: string; tier: Tier; make: () => Deadline | undefined; min: number; max: number }>([
    { case: 'the tier when it is shorter than the time left', tier: 'auth', make: () => deadline(120_000), min: TIERS.auth, max: TIERS.auth },
    { case: 'the time left when it is shorter than the tier', tier: 'user', make: () => deadline(5_000, { marginMs: 1_000 }), min: 3_900, max: 4_000 },
    { case: 'the time left of a deadline that started earlier', tier: 'batch', make: () => deadline(60_000, { agoMs: 50_000 }), min: 9_900, max: 10_000 },
    { case: 'the tier alone when there is no deadline', tier: 'integration', make: () => undefined, min: TIERS.integration, max: TIERS.integration },
    { case: '0 when the deadline has passed', tier: 'user', make: () => deadline(5_000, { agoMs: 10_000 }), min: 0, max: 0 },
    { case: '0 when the margin eats the whole timeout', tier: 'auth', make: () => deadline(1_000, { marginMs: 1_000 }), min: 0, max: 0 },
  ])('is $case', ({ tier, make, min, max }) => {
    const budget = budgetMs(tier, make());

    expect(budget).toBeGreaterThanOrEqual(min);
    expect(budget).toBeLessThanOrEqual(max);
  });

  it('uses the current invocation deadline when none is passed', () => {
    const d = deadline(2_000);

    const inside = runWithDeadline(d, () => budgetMs('batch'));
    const outside = budgetMs('batch');

    expect(inside).toBeLessThanOrEqual(2_000);
    expect(inside).toBeGreaterThan(1_900);
    expect(outside).toBe(TIERS.batch);
  });
});

describe('Deadline', () => {
  it('aborts its signal with DEADLINE_EXCEEDED when it expires', async () => {
    const d = deadline(50);

    const reason = await new Promise<unknown>((resolve) => d.signal.addEventListener('abort', () => resolve(d.signal.reason)));

    expect(reason).toBeInstanceOf(DeadlineExceededError);
    // The event loop's millisecond clock may fire the timer a fraction of a ms early.
    expect(d.remainingMs()).toBeLessThan(2);
  });

  it('is already aborted when created past its expiry', () => {
    const d = deadline(1_000, { agoMs: 2_000 });

    expect(d.signal.aborted).toBe(true);
  });
});

describe('withBudget', () => {
  it('does not start work when no time is left', async () => {
    let started = false;

    const error: unknown = await runWithDeadline(deadline(1_000, { agoMs: 2_000 }), () =>
      withBudget('user', async () => {
        started = true;
      }),
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(started).toBe(false);
  });

  it('turns work aborted by its budget into DEADLINE_EXCEEDED after about the budget', async () => {
    const started = now();

    const error: unknown = await runWithDeadline(deadline(150), () =>
      withBudget('user', (budget) =>
        new Promise((_, reject) => budget.signal.addEventListener('abort', () => reject(new Error('aborted by signal')))),
      ),
    ).catch((e: unknown) => e);
    const elapsed = now() - started;

    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error).toMatchObject({ code: 'DEADLINE_EXCEEDED', status: 504 });
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1_000);
  });
});

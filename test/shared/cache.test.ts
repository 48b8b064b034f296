import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TenantCache, type Clock, type TenantCacheOptions, type TenantScope } from '../../shared/cache/index.js';

/** A clock the test moves by hand: TTLs without sleeping. */
function fakeClock(start = 1_000): Clock & { advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

function cache(options: TenantCacheOptions = {}): TenantCache<string> {
  return new TenantCache<string>({ clock: fakeClock(), ...options });
}

/** Which of `keys` a scope still holds (read through `get`, so counters move). */
function present(scope: { get(key: string): string | undefined }, keys: string[]): string[] {
  return keys.filter((k) => scope.get(k) !== undefined);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('TenantCache', () => {
  it('evicts the least recently used entry of a tenant first', () => {
    const c = cache({ maxEntriesPerTenant: 3 });
    const a = c.forTenant('org_a');
    a.set('k1', 'v1');
    a.set('k2', 'v2');
    a.set('k3', 'v3');
    a.get('k1'); // k1 is now more recent than k2

    a.set('k4', 'v4');

    expect(present(a, ['k1', 'k2', 'k3', 'k4'])).toEqual(['k1', 'k3', 'k4']);
    expect(c.stats()).toMatchObject({ evictions: 1, size: 3 });
  });

  it('expires an entry once its TTL has passed, counting an expiration and a miss', () => {
    const clock = fakeClock();
    const c = new TenantCache<string>({ ttlMs: 1_000, clock });
    const a = c.forTenant('org_a');
    a.set('short', 'v');
    a.set('long', 'v', 5_000);

    clock.advance(999);
    const beforeTtl = a.get('short');
    clock.advance(2);
    const afterTtl = a.get('short');
    const longLived = a.get('long');

    expect(beforeTtl).toBe('v');
    expect(afterTtl).toBeUndefined();
    expect(longLived).toBe('v');
    expect(c.stats()).toMatchObject({ hits: 2, misses: 1, expirations: 1, size: 1 });
  });

  it('caps each tenant, and a tenant at its cap evicts only its own entries', () => {
    const c = cache({ maxEntries: 100, maxEntriesPerTenant: 2 });
    const a = c.forTenant('org_a');
    const b = c.forTenant('org_b');
    b.set('b1', 'v');
    b.set('b2', 'v');

    for (let i = 1; i <= 5; i += 1) a.set(`a${i}`, 'v');

    expect(present(a, ['a1', 'a2', 'a3', 'a4', 'a5'])).toEqual(['a4', 'a5']);
    expect(present(b, ['b1', 'b2'])).toEqual(['b1', 'b2']);
    expect(a.stats()).toMatchObject({ evictions: 3, size: 2 });
    expect(b.stats()).toMatchObject({ evictions: 0, size: 2 });
  });

  it('under global pressure evicts from the least recently active other tenant', () => {
    const c = cache({ maxEntries: 4, maxEntriesPerTenant: 4 });
    const a = c.forTenant('org_a');
    const b = c.forTenant('org_b');
    const newcomer = c.forTenant('org_c');
    a.set('a1', 'v');
    a.set('a2', 'v');
    b.set('b1', 'v');
    b.set('b2', 'v');
    a.get('a1'); // org_a is now more recently active than org_b

    newcomer.set('c1', 'v');

    const stats = c.stats();
    expect(stats).toMatchObject({ evictions: 1, size: 4, tenants: 3 });
    expect(present(a, ['a1', 'a2'])).toEqual(['a1', 'a2']);
    expect(present(b, ['b1', 'b2'])).toEqual(['b2']);
    expect(present(newcomer, ['c1'])).toEqual(['c1']);
  });

  it('bounds a lone tenant by the global cap even when its own cap is set higher', () => {
    const c = cache({ maxEntries: 2, maxEntriesPerTenant: 5 });
    const a = c.forTenant('org_a');

    a.set('a1', 'v');
    a.set('a2', 'v');
    a.set('a3', 'v');

    expect(present(a, ['a1', 'a2', 'a3'])).toEqual(['a2', 'a3']);
    expect(c.stats()).toMatchObject({ evictions: 1, size: 2 });
  });

  it("never lets one tenant read or remove another tenant's entry under the same key", () => {
    const c = cache();
    const a = c.forTenant('org_a');
    const b = c.forTenant('org_b');
    a.set('plan', 'enterprise');

    const bBefore = b.get('plan');
    b.set('plan', 'free');
    b.invalidate('plan');
    b.invalidatePrefix('');

    expect(bBefore).toBeUndefined();
    expect(a.get('plan')).toBe('enterprise');
    expect(() => c.forTenant('')).toThrow(/tenant id/);
  });

  it('keeps exact stats: hits, misses, sets, evictions, expirations, invalidations, hit rate and size', () => {
    const clock = fakeClock();
    const c = new TenantCache<string>({ maxEntries: 100, maxEntriesPerTenant: 2, ttlMs: 1_000, clock });
    const a = c.forTenant('org_a');
    const b = c.forTenant('org_b');

    a.set('x', '1'); // sets 1
    a.set('y', '2'); // sets 2
    a.set('z', '3'); // sets 3, evicts x
    a.get('y'); // hit 1
    a.get('x'); // miss 1
    b.get('x'); // miss 2 (tenant has nothing yet)
    b.set('x', '4'); // sets 4
    a.invalidate('y'); // invalidation 1
    a.invalidate('y'); // nothing left to invalidate
    clock.advance(1_001);
    b.get('x'); // miss 3, expiration 1
    b.set('p1', '5'); // sets 5
    b.get('p1'); // hit 2

    expect(c.stats()).toEqual({
      hits: 2,
      misses: 3,
      sets: 5,
      evictions: 1,
      expirations: 1,
      invalidations: 1,
      hitRate: 2 / 5,
      size: 2,
      tenants: 2,
    });
  });

  it('invalidates one key, a prefix, or a whole tenant, and counts each removed entry', () => {
    const c = cache();
    const a = c.forTenant('org_a');
    const b = c.forTenant('org_b');
    for (const key of ['pricing:openai', 'pricing:anthropic', 'quota:today', 'keys:1']) a.set(key, 'v');
    b.set('pricing:openai', 'v');

    const one = a.invalidate('keys:1');
    const missing = a.invalidate('keys:1');
    const prefix = a.invalidatePrefix('pricing:');
    const left = present(a, ['pricing:openai', 'pricing:anthropic', 'quota:today', 'keys:1']);
    const tenant = c.invalidateTenant('org_a');

    expect({ one, missing, prefix, tenant }).toEqual({ one: true, missing: false, prefix: 2, tenant: 1 });
    expect(left).toEqual(['quota:today']);
    expect(b.get('pricing:openai')).toBe('v');
    expect(c.stats()).toMatchObject({ invalidations: 4, size: 1, tenants: 1 });
  });

  it('loads a missing value once for many concurrent callers of getOrLoad, then serves it from cache', async () => {
    const c = cache();
    const a = c.forTenant('org_a');
    const b = c.forTenant('org_b');
    let loads = 0;
    const load = (value: string) => async (): Promise<string> => {
      loads += 1;
      await sleep(20);
      return value;
    };

    const values = await Promise.all(Array.from({ length: 20 }, async () => a.getOrLoad('quota', load('from-db'))));
    const cached = await a.getOrLoad('quota', load('not-called'));
    const otherTenant = await b.getOrLoad('quota', load('b-from-db'));

    expect(new Set(values)).toEqual(new Set(['from-db']));
    expect(cached).toBe('from-db');
    expect(otherTenant).toBe('b-from-db');
    expect(loads).toBe(2);
  });

  it('does not cache a failed load: every waiter sees the error and the next call loads again', async () => {
    const c = cache();
    const a = c.forTenant('org_a');
    const failure = new Error('database unavailable');
    let loads = 0;

    const first = await Promise.allSettled(
      Array.from({ length: 5 }, async () =>
        a.getOrLoad('quota', async () => {
          loads += 1;
          await sleep(5);
          throw failure;
        }),
      ),
    );
    const second = await a.getOrLoad('quota', async () => {
      loads += 1;
      return 'fresh';
    });

    expect(first.every((r) => r.status === 'rejected' && r.reason === failure)).toBe(true);
    expect(second).toBe('fresh');
    expect(loads).toBe(2);
    expect(c.stats()).toMatchObject({ sets: 1, size: 1 });
  });

  it('does not cache a loader that throws synchronously', async () => {
    const a = cache().forTenant('org_a');

    const first: unknown = await Promise.resolve(
      a.getOrLoad('quota', () => {
        throw new Error('bad input before any await');
      }),
    ).catch((e: unknown) => e);
    const second = await a.getOrLoad('quota', async () => 'fresh');

    expect(first).toBeInstanceOf(Error);
    expect(second).toBe('fresh');
  });

  it('answers a hit at once, without a promise, and a miss with one', async () => {
    const a = cache().forTenant('org_a');

    const miss = a.getOrLoad('quota', async () => 'loaded');
    expect(miss).toBeInstanceOf(Promise);
    expect(await miss).toBe('loaded');
    expect(a.getOrLoad('quota', async () => 'not called')).toBe('loaded');
  });

  it.each([
    { how: 'by key', invalidate: (s: TenantScope<string>) => s.invalidate('pricing') },
    { how: 'by prefix', invalidate: (s: TenantScope<string>) => s.invalidatePrefix('pri') },
    { how: 'for the whole tenant', invalidate: (s: TenantScope<string>) => s.invalidateAll() },
  ])('never serves a value loaded before an invalidation $how to a caller who asked after it', async ({ invalidate }) => {
    const a = cache().forTenant('org_a');
    let finishOldLoad: (value: string) => void = () => undefined;
    const oldLoad = a.getOrLoad('pricing', () => new Promise<string>((resolve) => (finishOldLoad = resolve)));

    invalidate(a); // e.g. PUT /v1/pricing changed the row while a list was reading it
    const afterChange = a.getOrLoad('pricing', async () => 'after-change');
    finishOldLoad('before-change');
    const [oldValue, newValue] = await Promise.all([oldLoad, afterChange]);
    const next = await a.getOrLoad('pricing', async () => 'reloaded');

    expect(oldValue).toBe('before-change');
    expect(newValue).toBe('after-change');
    expect(next).toBe('after-change');
  });

  it('starts no timers, so nothing runs between requests', () => {
    vi.useFakeTimers();
    const c = new TenantCache<string>({ ttlMs: 50 });
    const a = c.forTenant('org_a');

    for (let i = 0; i < 10; i += 1) a.set(`k${i}`, 'v');
    a.get('k1');
    a.invalidatePrefix('k');

    expect(vi.getTimerCount()).toBe(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, closeFunctionRuntime, closeTestDb, createTenant, serveFunction, testDb, type ServedFunction, type TestTenant } from '../helpers/tenants.js';
import { documentedFetch } from '../helpers/apiContract.js';

process.env.FUNCTION_NAME = 'subscriptions';

await import('../../functions/subscriptions/index.js');

interface Subscription {
  id: string;
  vendor: string;
  plan_name: string;
  seats: number;
  unit_price_usd: number;
  billing_cycle: string;
  start_date: string;
  end_date: string | null;
  status: string;
}
interface Page {
  items: Subscription[];
  next_cursor: string | null;
}
interface ErrorBody {
  error: { code: string; message: string; details: { path: string; message: string }[]; request_id: string };
}

let fn: ServedFunction;
let org: TestTenant;

beforeAll(async () => {
  fn = await serveFunction('subscriptions');
  org = await createTenant({ slugPrefix: 'subs' });
});

afterAll(async () => {
  await fn.close();
  await closeTestDb();
  await closeFunctionRuntime();
});

const api = (method: string, path: string, body?: unknown, tenant: TestTenant = org): ReturnType<typeof call> =>
  call(fn.url, tenant.apiKey, method, path, body);

const valid = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  vendor: 'Slack',
  plan_name: 'Business+',
  seats: 25,
  unit_price_usd: 12.5,
  billing_cycle: 'monthly',
  start_date: '2024-01-01',
  ...overrides,
});

async function countRows(orgId: string): Promise<number> {
  const { rows } = await testDb().query<{ n: number }>(`SELECT count(*)::int AS n FROM subscriptions WHERE org_id = $1`, [orgId]);
  return rows[0]?.n ?? 0;
}

describe('subscriptions CRUD', () => {
  it('creates a subscription with 201, open-ended and active by default', async () => {
    const res = await api('POST', '/v1/subscriptions', valid());

    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      vendor: 'Slack',
      plan_name: 'Business+',
      seats: 25,
      unit_price_usd: 12.5,
      billing_cycle: 'monthly',
      start_date: '2024-01-01',
      end_date: null,
      status: 'active',
    });
  });

  it('reads a subscription back by id', async () => {
    const created = (await api('POST', '/v1/subscriptions', valid({ end_date: '2024-12-31', billing_cycle: 'annual' }))).body as Subscription;

    const res = await api('GET', `/v1/subscriptions/${created.id}`);

    expect(res.status).toBe(200);
    expect(res.body).toEqual(created);
  });

  it('changes only the fields a PATCH sends', async () => {
    const created = (await api('POST', '/v1/subscriptions', valid({ end_date: '2024-06-30' }))).body as Subscription;

    const res = await api('PATCH', `/v1/subscriptions/${created.id}`, { seats: 30, status: 'cancelled' });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...created, seats: 30, status: 'cancelled' });
  });

  it('clears end_date when a PATCH sets it to null', async () => {
    const created = (await api('POST', '/v1/subscriptions', valid({ end_date: '2024-06-30' }))).body as Subscription;

    const res = await api('PATCH', `/v1/subscriptions/${created.id}`, { end_date: null });

    expect((res.body as Subscription).end_date).toBeNull();
  });

  it.each([
    ['an end_date before the stored start_date', { end_date: '2023-12-31' }, 'end_date'],
    ['a start_date after the stored end_date', { start_date: '2025-01-01' }, 'start_date'],
  ])('refuses a PATCH with %s with 400 naming the field, checked against the merged row', async (_name, patch, field) => {
    const created = (await api('POST', '/v1/subscriptions', valid({ start_date: '2024-01-01', end_date: '2024-06-30' }))).body as Subscription;

    const res = await api('PATCH', `/v1/subscriptions/${created.id}`, patch);

    expect(res.status).toBe(400);
    expect((res.body as ErrorBody).error.details.map((d) => d.path)).toEqual([field]);
    expect((await api('GET', `/v1/subscriptions/${created.id}`)).body).toEqual(created);
  });

  it('refuses an empty PATCH with 400', async () => {
    const created = (await api('POST', '/v1/subscriptions', valid())).body as Subscription;

    expect((await api('PATCH', `/v1/subscriptions/${created.id}`, {})).status).toBe(400);
  });

  it('deletes with 204; afterwards the id is 404 for GET, PATCH and DELETE', async () => {
    const created = (await api('POST', '/v1/subscriptions', valid())).body as Subscription;

    const deleted = await api('DELETE', `/v1/subscriptions/${created.id}`);

    expect(deleted.status).toBe(204);
    expect((await api('GET', `/v1/subscriptions/${created.id}`)).status).toBe(404);
    expect((await api('PATCH', `/v1/subscriptions/${created.id}`, { seats: 2 })).status).toBe(404);
    expect((await api('DELETE', `/v1/subscriptions/${created.id}`)).status).toBe(404);
  });

  it.each(['not-a-uuid', '123', '00000000-0000-0000-0000-00000000000g'])('refuses the id %s with 400', async (id) => {
    const res = await api('GET', `/v1/subscriptions/${id}`);

    expect(res.status).toBe(400);
    expect((res.body as ErrorBody).error.details[0]?.path).toBe('id');
  });

  it.each([
    ['February 30th', { start_date: '2024-02-30' }, 'start_date'],
    ['February 29th of a common year', { start_date: '2023-02-29' }, 'start_date'],
    ['a date with a time', { start_date: '2024-01-01T00:00:00Z' }, 'start_date'],
    ['month 13', { end_date: '2024-13-01' }, 'end_date'],
    ['an end before the start', { start_date: '2024-05-01', end_date: '2024-04-30' }, 'end_date'],
    ['zero seats', { seats: 0 }, 'seats'],
    ['fractional seats', { seats: 1.5 }, 'seats'],
    ['a negative price', { unit_price_usd: -0.01 }, 'unit_price_usd'],
    ['an unknown billing cycle', { billing_cycle: 'weekly' }, 'billing_cycle'],
    ['an unknown status', { status: 'paused' }, 'status'],
    ['a vendor over 200 characters', { vendor: 'x'.repeat(201) }, 'vendor'],
    ['a blank plan name', { plan_name: '   ' }, 'plan_name'],
    ['a NUL character', { vendor: 'Sla\u0000ck' }, 'vendor'],
    ['a lone surrogate', { vendor: 'Sla\ud800ck' }, 'vendor'],
  ])('refuses a create with %s with 400 naming the field', async (_name, overrides, field) => {
    const res = await api('POST', '/v1/subscriptions', valid(overrides));

    expect(res.status).toBe(400);
    expect((res.body as ErrorBody).error.details.map((d) => d.path)).toContain(field);
  });

  it('accepts February 29th of a leap year', async () => {
    expect((await api('POST', '/v1/subscriptions', valid({ start_date: '2024-02-29' }))).status).toBe(201);
  });
});

describe('subscriptions list', () => {
  it('filters by status', async () => {
    const tenant = await createTenant({ slugPrefix: 'substatus' });
    await api('POST', '/v1/subscriptions', valid({ status: 'cancelled' }), tenant);
    await api('POST', '/v1/subscriptions', valid(), tenant);

    const cancelled = (await api('GET', '/v1/subscriptions?status=cancelled', undefined, tenant)).body as Page;
    const all = (await api('GET', '/v1/subscriptions', undefined, tenant)).body as Page;

    expect(cancelled.items.map((s) => s.status)).toEqual(['cancelled']);
    expect(all.items).toHaveLength(2);
  });

  it('walks every row exactly once across pages while rows are inserted between page fetches', async () => {
    const tenant = await createTenant({ slugPrefix: 'subwalk' });
    await api('POST', '/v1/subscriptions/bulk', { items: Array.from({ length: 260 }, (_, i) => valid({ vendor: `seed-${i}` })) }, tenant);
    const seeded = new Set(((await testDb().query<{ id: string }>(`SELECT id FROM subscriptions WHERE org_id = $1`, [tenant.orgId])).rows).map((r) => r.id));

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await api('GET', `/v1/subscriptions?limit=41${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, undefined, tenant);
      expect(res.status).toBe(200);
      const page = res.body as Page;
      seen.push(...page.items.map((s) => s.id));
      cursor = page.next_cursor;
      // Random UUIDs land before and after the cursor alike.
      for (let i = 0; i < 3; i += 1) await api('POST', '/v1/subscriptions', valid({ vendor: 'late' }), tenant);
    } while (cursor !== null);

    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => seeded.has(id)).length).toBe(seeded.size);
    expect([...seen].sort()).toEqual(seen);
  });

  it('refuses a tampered cursor, and one issued for another status filter, with 400', async () => {
    const tenant = await createTenant({ slugPrefix: 'subcursor' });
    for (let i = 0; i < 3; i += 1) await api('POST', '/v1/subscriptions', valid(), tenant);
    const cursor = ((await api('GET', '/v1/subscriptions?limit=1', undefined, tenant)).body as Page).next_cursor as string;
    const flipped = `${cursor.slice(0, 5)}${cursor[5] === 'A' ? 'B' : 'A'}${cursor.slice(6)}`;

    const tampered = await api('GET', `/v1/subscriptions?limit=1&cursor=${encodeURIComponent(flipped)}`, undefined, tenant);
    const otherFilter = await api('GET', `/v1/subscriptions?status=active&limit=1&cursor=${encodeURIComponent(cursor)}`, undefined, tenant);
    const genuine = await api('GET', `/v1/subscriptions?limit=1&cursor=${encodeURIComponent(cursor)}`, undefined, tenant);

    expect(tampered.status).toBe(400);
    expect((tampered.body as ErrorBody).error.details[0]?.path).toBe('cursor');
    expect(otherFilter.status).toBe(400);
    expect(genuine.status).toBe(200);
  });

  it('answers limit 501 with 400', async () => {
    expect((await api('GET', '/v1/subscriptions?limit=501')).status).toBe(400);
  });
});

describe('subscriptions bulk import', () => {
  const items = (n: number): Record<string, unknown>[] =>
    Array.from({ length: n }, (_, i) =>
      valid({
        vendor: `Vendor ${i}`,
        plan_name: `Plan ${i % 17}`,
        seats: 1 + (i % 50),
        unit_price_usd: (i % 1000) / 10,
        billing_cycle: i % 2 === 0 ? 'monthly' : 'annual',
        start_date: '2024-03-01',
        end_date: i % 3 === 0 ? null : '2025-02-28',
        status: i % 5 === 0 ? 'cancelled' : 'active',
      }),
    );

  it('commits 5,000 valid items in one request', async () => {
    const tenant = await createTenant({ slugPrefix: 'bulk' });

    const started = performance.now();
    const res = await api('POST', '/v1/subscriptions/bulk', { items: items(5000) }, tenant);
    const seconds = (performance.now() - started) / 1000;

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ created: 5000 });
    expect(await countRows(tenant.orgId)).toBe(5000);
    const { rows } = await testDb().query(
      `SELECT vendor, seats, unit_price_usd::float8 AS price, billing_cycle, to_char(end_date, 'YYYY-MM-DD') AS end_date, status
         FROM subscriptions WHERE org_id = $1 AND vendor = 'Vendor 4999'`,
      [tenant.orgId],
    );
    expect(rows).toEqual([{ vendor: 'Vendor 4999', seats: 50, price: 99.9, billing_cycle: 'annual', end_date: '2025-02-28', status: 'active' }]);
    expect(seconds).toBeLessThan(10);
  });

  it('commits nothing when one item among 5,000 is bad, and the 400 names its index and field', async () => {
    const tenant = await createTenant({ slugPrefix: 'bulkbad' });
    const batch = items(5000);
    batch[4321] = { ...batch[4321], seats: 0 };

    const res = await api('POST', '/v1/subscriptions/bulk', { items: batch }, tenant);

    expect(res.status).toBe(400);
    expect((res.body as ErrorBody).error.details).toEqual([{ path: 'items.4321.seats', message: expect.any(String) as unknown }]);
    expect(await countRows(tenant.orgId)).toBe(0);
  });

  it('names a cross-field problem of an item by index too', async () => {
    const tenant = await createTenant({ slugPrefix: 'bulkdates' });
    const batch = items(10);
    batch[7] = { ...batch[7], start_date: '2024-05-01', end_date: '2024-04-01' };

    const res = await api('POST', '/v1/subscriptions/bulk', { items: batch }, tenant);

    expect(res.status).toBe(400);
    expect((res.body as ErrorBody).error.details.map((d) => d.path)).toEqual(['items.7.end_date']);
    expect(await countRows(tenant.orgId)).toBe(0);
  });

  it('rolls back everything when the database refuses a row mid-statement', async () => {
    // Past zod, a row can still fail in PostgreSQL only if the schemas drift apart; this
    // forces it with a constraint the schema does not know, to prove the transaction.
    const tenant = await createTenant({ slugPrefix: 'bulkdb' });
    const batch = items(50);
    batch[49] = { ...batch[49], vendor: 'x'.repeat(200) };
    // Scoped to this test's org so no other test's rows can trip it. (DDL takes no bind
    // parameters; the org id is a UUID the database generated.)
    await testDb().query(
      `ALTER TABLE subscriptions ADD CONSTRAINT test_vendor_short CHECK (org_id <> '${tenant.orgId}'::uuid OR length(vendor) < 150) NOT VALID`,
    );
    try {
      const res = await api('POST', '/v1/subscriptions/bulk', { items: batch }, tenant);

      expect(res.status).toBe(500);
      expect(await countRows(tenant.orgId)).toBe(0);
    } finally {
      await testDb().query(`ALTER TABLE subscriptions DROP CONSTRAINT test_vendor_short`);
    }
  });

  it.each([
    ['no items', { items: [] }],
    ['5,001 items', { items: items(5001) }],
    ['items that are not an array', { items: { 0: valid() } }],
    ['an extra top-level field', { items: items(1), dry_run: true }],
  ])('refuses %s with 400', async (_name, body) => {
    expect((await api('POST', '/v1/subscriptions/bulk', body)).status).toBe(400);
  });

  it('refuses a body over 8 MiB with 413', async () => {
    const res = await documentedFetch(`${fn.url}/v1/subscriptions/bulk`, {
      method: 'POST',
      headers: { authorization: `Bearer ${org.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ items: [valid({ vendor: 'x'.repeat(9 * 1024 * 1024) })] }),
    });

    expect(res.status).toBe(413);
  });

  it('takes a chunked body over the 1 MiB default up to its own 8 MiB limit, and refuses a chunked one over it', async () => {
    const tenant = await createTenant({ slugPrefix: 'bulkbig' });
    // No Content-Length: only the wrapper's check of the body read can apply the limit.
    const chunked = (text: string): Promise<Response> =>
      documentedFetch(`${fn.url}/v1/subscriptions/bulk`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json' },
        body: new Blob([text]).stream(),
        duplex: 'half',
      });
    const big = JSON.stringify({ items: items(5000).map((item) => ({ ...item, vendor: `${String(item.vendor)} ${'v'.repeat(180)}` })) });
    expect(Buffer.byteLength(big)).toBeGreaterThan(1024 * 1024);

    const accepted = await chunked(big);
    const refused = await chunked(JSON.stringify({ items: [valid({ vendor: 'x'.repeat(9 * 1024 * 1024) })] }));

    expect(accepted.status).toBe(200);
    expect(await countRows(tenant.orgId)).toBe(5000);
    expect(refused.status).toBe(413);
  });
});

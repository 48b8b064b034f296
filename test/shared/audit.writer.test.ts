/**
 * The audit writer's buffer, with the real BigQuery client over HTTP: against a server
 * that never answers, each write gives up at its budget, the buffer keeps at most
 * `maxRows` and logs what it drops with the count; once the real local endpoint is there,
 * the shutdown flush delivers what was kept; still hanging at shutdown, the rest is
 * dropped within the flush's limit and logged with its count.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CENTRAL_DATASET, centralDataset, ensureDatasetDefinition, ORG_AUDIT_LOGS } from '../../shared/analytics/index.js';
import { localBigQueryOptions, startBigQueryEndpoint, type BigQueryEndpoint } from '../../dev/bigquery/index.js';
import { AuditWriter, toAuditRow, type AuditEntry } from '../../shared/audit/index.js';
import { captureLogs } from '../fixtures/runtime/logs.js';

let endpoint: BigQueryEndpoint;
let hanging: Server;
let hangingUrl: string;
const sockets = new Set<Socket>();

beforeAll(async () => {
  endpoint = await startBigQueryEndpoint({ port: 0 });
  await ensureDatasetDefinition(new BigQuery(localBigQueryOptions(endpoint.url)), centralDataset(), { location: 'EU' });
  hanging = createServer(() => undefined); // accepts every request, answers none
  hanging.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => hanging?.close(() => resolve()));
  await endpoint?.close();
});

function entry(requestId: string): AuditEntry {
  const json = toAuditRow(
    { method: 'POST', route: '/v1/subscriptions', params: {}, principal: { keyId: 'key-1', orgSlug: 'acme' }, status: 201, code: undefined, requestId },
    { functionName: 'subscriptions', contextOrg: undefined, adminActions: new Set(), at: new Date() },
  );
  return { insertId: requestId, json };
}

describe('AuditWriter', () => {
  it('bounds each write by its budget, keeps at most maxRows (drops logged with their count), and delivers the rest at shutdown', async () => {
    let target = hangingUrl;
    const writer = new AuditWriter({
      insert: async (rows) => {
        await new BigQuery(localBigQueryOptions(target)).dataset(CENTRAL_DATASET).table(ORG_AUDIT_LOGS.tableId).insert(rows, { raw: true });
      },
      budgetMs: 1000,
      maxRows: 3,
      retryAfterMs: 0,
    });
    const run = randomBytes(4).toString('hex');
    const ids = Array.from({ length: 5 }, (_, i) => `w-${run}-${i}`);
    const logs = captureLogs('INFO');
    const took: number[] = [];
    try {
      for (const id of ids) {
        const started = performance.now();
        await expect(writer.write(entry(id))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
        took.push(performance.now() - started);
      }
      expect(writer.size).toBe(3);
      expect(writer.dropped).toBe(2);
      const drops = logs.find('ERROR', 'Dropped audit rows: the retry buffer is full');
      expect(drops.map((d) => [d.rows, d.request_ids])).toEqual([
        [1, [ids[0]]],
        [1, [ids[1]]],
      ]);

      target = endpoint.url;
      await writer.flush(5000);
      expect(logs.find('INFO', 'Wrote buffered audit rows at shutdown')).toMatchObject([{ rows: 3 }]);
    } finally {
      logs.restore();
    }
    const [rows] = await new BigQuery(localBigQueryOptions(endpoint.url)).query({
      query: `SELECT request_id FROM \`${CENTRAL_DATASET}.${ORG_AUDIT_LOGS.tableId}\` WHERE request_id IN UNNEST(@ids) ORDER BY request_id`,
      params: { ids },
    });
    expect((rows as { request_id: string }[]).map((r) => r.request_id)).toEqual(ids.slice(2));
    expect(writer.written).toBe(3);
    for (const ms of took) {
      expect(ms).toBeGreaterThanOrEqual(990);
      expect(ms).toBeLessThan(1000 + 500);
    }
  });

  it('drops what BigQuery still does not take at shutdown within the flush limit, logging the count', async () => {
    const writer = new AuditWriter({
      insert: async (rows) => {
        await new BigQuery(localBigQueryOptions(hangingUrl)).dataset(CENTRAL_DATASET).table(ORG_AUDIT_LOGS.tableId).insert(rows, { raw: true });
      },
      budgetMs: 2000,
      maxRows: 10,
      retryAfterMs: 60_000,
    });
    const logs = captureLogs('INFO');
    try {
      await expect(writer.write(entry('first'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      // Within retryAfterMs: buffered at once, BigQuery not tried.
      const started = performance.now();
      expect(await writer.write(entry('second'))).toBe('buffered');
      expect(performance.now() - started).toBeLessThan(50);
      const flushStarted = performance.now();
      await writer.flush(300);
      const flushMs = performance.now() - flushStarted;
      expect(flushMs).toBeLessThan(300 + 300);
      expect(writer.size).toBe(0);
      expect(writer.dropped).toBe(2);
      expect(logs.find('ERROR', 'Dropped audit rows at shutdown: BigQuery did not take them')).toMatchObject([{ rows: 2 }]);
    } finally {
      logs.restore();
    }
  });
});

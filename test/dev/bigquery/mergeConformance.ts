/**
 * Shared MERGE cases, run against the local endpoint (endpoint.test.ts) and
 * real BigQuery (contract.test.ts). Semantics from the DML reference
 * (https://cloud.google.com/bigquery/docs/reference/standard-sql/dml-syntax#merge_statement):
 * the first WHEN clause whose condition holds acts on a row; `WHEN NOT
 * MATCHED [BY TARGET]` inserts source rows without a match, `WHEN NOT MATCHED
 * BY SOURCE` acts on target rows without one; a target row that an
 * UPDATE/DELETE clause could act on must match at most one source row, else
 * the statement fails ("UPDATE/MERGE must match at most one source row for
 * each target row") and changes nothing.
 */
import type { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { rejectionOf } from './conformance.js';

interface DmlStatistics {
  numDmlAffectedRows: string;
  dmlStats?: { insertedRowCount?: string; updatedRowCount?: string; deletedRowCount?: string };
}

/** Registers the MERGE cases under the caller's `describe`. */
export function defineMergeConformanceCases(client: () => BigQuery, datasetId: string): void {
  let bq: BigQuery;
  const stock = `\`${datasetId}.stock\``;
  const delivery = `\`${datasetId}.delivery\``;

  beforeAll(async () => {
    bq = client();
    await bq.createDataset(datasetId);
    await bq.query(`CREATE TABLE ${delivery} (id INT64, qty INT64)`);
    await bq.query(`INSERT INTO ${delivery} (id, qty) VALUES (1, 5), (4, 40)`);
  });

  beforeEach(async () => {
    await bq.query(`CREATE OR REPLACE TABLE ${stock} (id INT64, qty INT64, note STRING)`);
    await bq.query(`INSERT INTO ${stock} (id, qty, note) VALUES (1, 10, 'a'), (2, 20, 'b'), (3, 30, 'c')`);
  });

  afterAll(async () => {
    await bq?.dataset(datasetId).delete({ force: true });
  });

  const run = async (query: string): Promise<DmlStatistics> => {
    const [job] = await bq.createQueryJob({ query });
    await job.getQueryResults();
    const [metadata] = (await job.getMetadata()) as unknown as [{ statistics: { query: DmlStatistics } }];
    return metadata.statistics.query;
  };
  const stockRows = async (): Promise<unknown[]> => {
    const [rows] = (await bq.query(`SELECT id, qty, note FROM ${stock} ORDER BY id`)) as [unknown[]];
    return rows;
  };

  it('upserts: updates the matched row and inserts the unmatched source row', async () => {
    const stats = await run(`MERGE ${stock} T USING ${delivery} S ON T.id = S.id
WHEN MATCHED THEN UPDATE SET qty = T.qty + S.qty
WHEN NOT MATCHED THEN INSERT (id, qty, note) VALUES (S.id, S.qty, 'new')`);
    expect(stats.numDmlAffectedRows).toBe('2');
    expect(Number(stats.dmlStats?.insertedRowCount ?? 0)).toBe(1);
    expect(Number(stats.dmlStats?.updatedRowCount ?? 0)).toBe(1);
    expect(await stockRows()).toEqual([
      { id: 1, qty: 15, note: 'a' },
      { id: 2, qty: 20, note: 'b' },
      { id: 3, qty: 30, note: 'c' },
      { id: 4, qty: 40, note: 'new' },
    ]);
  });

  it('applies WHEN MATCHED AND … THEN DELETE and WHEN NOT MATCHED BY SOURCE AND … THEN UPDATE', async () => {
    const stats = await run(`MERGE INTO ${stock} AS T USING ${delivery} AS S ON T.id = S.id
WHEN MATCHED AND S.qty < 10 THEN DELETE
WHEN NOT MATCHED BY SOURCE AND T.id = 3 THEN UPDATE SET note = 'gone'`);
    expect(stats.numDmlAffectedRows).toBe('2');
    expect(await stockRows()).toEqual([
      { id: 2, qty: 20, note: 'b' },
      { id: 3, qty: 30, note: 'gone' },
    ]);
  });

  it('takes the first WHEN MATCHED clause whose condition holds', async () => {
    await run(`MERGE ${stock} T USING ${delivery} S ON T.id = S.id
WHEN MATCHED AND S.qty > 100 THEN DELETE
WHEN MATCHED THEN UPDATE SET note = 'second'`);
    expect(await stockRows()).toEqual([
      { id: 1, qty: 10, note: 'second' },
      { id: 2, qty: 20, note: 'b' },
      { id: 3, qty: 30, note: 'c' },
    ]);
  });

  it('fails when a target row matches two source rows, and changes nothing', async () => {
    const err = await rejectionOf(() =>
      run(`MERGE ${stock} T USING (SELECT 1 AS id, 5 AS qty UNION ALL SELECT 1, 6) S ON T.id = S.id
WHEN MATCHED THEN UPDATE SET qty = S.qty
WHEN NOT MATCHED THEN INSERT (id, qty, note) VALUES (S.id, S.qty, 'x')`),
    );
    expect(err.code).toBe(400);
    expect(err.message).toContain('UPDATE/MERGE must match at most one source row for each target row');
    expect(await stockRows()).toEqual([
      { id: 1, qty: 10, note: 'a' },
      { id: 2, qty: 20, note: 'b' },
      { id: 3, qty: 30, note: 'c' },
    ]);
  });

  it('inserts every unmatched source row when only WHEN NOT MATCHED is given, duplicates included', async () => {
    const stats = await run(`MERGE ${stock} T USING (SELECT 5 AS id, 1 AS qty UNION ALL SELECT 5, 2) S ON T.id = S.id
WHEN NOT MATCHED THEN INSERT (id, qty, note) VALUES (S.id, S.qty, 'dup')`);
    expect(stats.numDmlAffectedRows).toBe('2');
    const [rows] = await bq.query(`SELECT COUNT(*) AS n FROM ${stock} WHERE id = 5`);
    expect(rows).toEqual([{ n: 2 }]);
  });
}

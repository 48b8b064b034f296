/**
 * Shared cases for the bytes a dry run reports (`statistics.totalBytesProcessed`),
 * run against the local endpoint (endpoint.test.ts) and real BigQuery
 * (contract.test.ts). Expected values follow BigQuery's documented rules:
 *
 * - only the columns a query references are billed, by their logical sizes
 *   (DATE/FLOAT64/TIMESTAMP 8 bytes, STRING 2 + length; LIMIT changes nothing):
 *   https://cloud.google.com/bigquery/pricing#data and
 *   https://cloud.google.com/bigquery/docs/best-practices-costs;
 * - a filter on the partitioning column with constants limits the scan to the
 *   partitions it selects — whole partitions, whatever rows in them match:
 *   https://cloud.google.com/bigquery/docs/querying-partitioned-tables#pruning_limiting_partitions;
 * - an UPDATE of a partitioned table bills the referenced columns of the
 *   scanned partitions plus every column of the partitions it scans:
 *   https://cloud.google.com/bigquery/pricing#dml_pricing_for_partitioned_tables.
 *
 * Tables: `daily` (one row per day of 2023, DAY-partitioned on `day`), `flat`
 * (the same rows, not partitioned) and `stamped` (two rows a day, 10:00 and
 * 20:00, on 2023-01-01..03, partitioned by DATE(ts)). A row of `daily` is
 * day 8 + account 'acct' (2 + 4) + cost 8 = 22 bytes.
 */
import { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, expect, it } from 'vitest';

/** Registers the byte-estimate cases under the caller's `describe`. */
export function defineByteEstimateConformanceCases(client: () => BigQuery, datasetId: string): void {
  let bq: BigQuery;
  const daily = `\`${datasetId}.daily\``;
  const flat = `\`${datasetId}.flat\``;
  const stamped = `\`${datasetId}.stamped\``;
  const year = `FROM UNNEST(GENERATE_DATE_ARRAY('2023-01-01', '2023-12-31')) AS d`;

  beforeAll(async () => {
    bq = client();
    await bq.createDataset(datasetId);
    await bq.query(`CREATE TABLE ${daily} PARTITION BY day AS SELECT d AS day, 'acct' AS account, 1.5 AS cost ${year}`);
    await bq.query(`CREATE TABLE ${flat} AS SELECT d AS day, 'acct' AS account, 1.5 AS cost ${year}`);
    await bq.query(`CREATE TABLE ${stamped} PARTITION BY DATE(ts) AS
SELECT TIMESTAMP_ADD(TIMESTAMP(d), INTERVAL h HOUR) AS ts
FROM UNNEST(GENERATE_DATE_ARRAY('2023-01-01', '2023-01-03')) AS d, UNNEST([10, 20]) AS h`);
  });

  afterAll(async () => {
    await bq?.dataset(datasetId).delete({ force: true });
  });

  const bytesOf = async (query: string, params?: Record<string, unknown>): Promise<number> => {
    const [job] = await bq.createQueryJob(params ? { query, params, dryRun: true } : { query, dryRun: true });
    return Number((job.metadata as { statistics: { totalBytesProcessed: string } }).statistics.totalBytesProcessed);
  };

  const cases: { name: string; query: () => string; params?: Record<string, unknown>; bytes: number }[] = [
    { name: 'one column of an unpartitioned table (365 × 8)', query: () => `SELECT cost FROM ${flat}`, bytes: 2920 },
    { name: 'every column (365 × 22)', query: () => `SELECT * FROM ${flat}`, bytes: 8030 },
    { name: 'LIMIT does not reduce the bytes', query: () => `SELECT cost FROM ${flat} LIMIT 1`, bytes: 2920 },
    { name: 'SELECT * EXCEPT leaves a column out (365 × 14)', query: () => `SELECT * EXCEPT (cost) FROM ${flat}`, bytes: 5110 },
    { name: 'COUNT(*) reads no column', query: () => `SELECT COUNT(*) AS n FROM ${flat}`, bytes: 0 },
    { name: '30 days of the unpartitioned copy: no pruning (365 × 16)', query: () => `SELECT SUM(cost) AS c FROM ${flat} WHERE day BETWEEN '2023-06-01' AND '2023-06-30'`, bytes: 5840 },
    { name: '30 days of the partitioned table: 30 partitions (30 × 16)', query: () => `SELECT SUM(cost) AS c FROM ${daily} WHERE day BETWEEN '2023-06-01' AND '2023-06-30'`, bytes: 480 },
    { name: 'a parameter bound on the partitioning column (30 × 14)', query: () => `SELECT account FROM ${daily} WHERE day >= @from`, params: { from: BigQuery.date('2023-12-02') }, bytes: 420 },
    { name: 'IN a list of days (2 × 16)', query: () => `SELECT cost FROM ${daily} AS t WHERE t.day IN ('2023-01-01', '2023-07-01')`, bytes: 32 },
    { name: 'a filter on another column prunes nothing (365 × 14)', query: () => `SELECT cost FROM ${daily} WHERE account = 'x'`, bytes: 5110 },
    { name: 'an OR with another column prunes nothing (365 × 16)', query: () => `SELECT cost FROM ${daily} WHERE day = '2023-01-01' OR cost > 1`, bytes: 5840 },
    { name: 'whole partitions of a TIMESTAMP column (2 days × 2 rows × 8)', query: () => `SELECT ts FROM ${stamped} WHERE ts >= TIMESTAMP '2023-01-02 15:00:00+00'`, bytes: 32 },
    { name: 'UPDATE of one partition: referenced columns + every column (16 + 22)', query: () => `UPDATE ${daily} SET cost = cost + 1 WHERE day = '2023-03-01'`, bytes: 38 },
  ];

  it.each(cases)('dry run estimates $name', async ({ query, params, bytes }) => {
    expect(await bytesOf(query(), params)).toBe(bytes);
  });
}

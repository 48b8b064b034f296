import { BigQuery } from '@google-cloud/bigquery';
import { startBigQueryEndpoint, localBigQueryOptions } from './index.js';
const ep = await startBigQueryEndpoint();
const bq = new BigQuery(localBigQueryOptions(ep.url));
const SLOW = 'SELECT COUNT(*) AS n FROM UNNEST(GENERATE_ARRAY(1, 200000)) AS a, UNNEST(GENERATE_ARRAY(1, 200000)) AS b WHERE MOD(a * b, 7) = 3';
const gcTimer = setInterval(() => (globalThis as any).gc?.(), 5);
for (let round = 0; round < 40; round++) {
  const ds = `w${round}`;
  await bq.createDataset(ds);
  const [table] = await bq.dataset(ds).createTable('t', { schema: [{ name: 'src', type: 'STRING' }, { name: 'n', type: 'INT64' }] });
  const [slow] = await bq.createQueryJob({ query: SLOW, jobTimeoutMs: 100 + (round % 5) * 20 });
  const streams = Array.from({ length: 10 }, (_, i) => table.insert(Array.from({ length: 50 }, (_, j) => ({ src: 'stream', n: i * 50 + j }))));
  const dml = Array.from({ length: 10 }, (_, i) => bq.query({ query: `INSERT INTO ${ds}.t (src, n) VALUES (@src, @n)`, params: { src: 'dml', n: i } }));
  const reads = Array.from({ length: 5 }, () => bq.query(`SELECT COUNT(*) n FROM ${ds}.t`));
  await Promise.all([...streams, ...dml, ...reads]);
  await slow.cancel().catch(() => {});
  process.stdout.write('.');
}
clearInterval(gcTimer);
console.log('ok');
await ep.close();

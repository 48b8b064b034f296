/**
 * The GoogleSQL → DuckDB translator on its own: which queries it accepts (and
 * what it turns them into) and which it refuses, naming the construct.
 */
import { describe, expect, it } from 'vitest';
import { translateQuery } from '../../../../dev/bigquery/sql/index.js';
import type { TranslateContext } from '../../../../dev/bigquery/sql/index.js';
import { BigQueryApiError } from '../../../../dev/bigquery/errors.js';

const ctx: TranslateContext = { projectId: 'local-project', requestProjectId: 'local-project' };

function errorOf(sql: string, c: TranslateContext = ctx): BigQueryApiError {
  try {
    translateQuery(sql, c);
  } catch (err) {
    if (err instanceof BigQueryApiError) return err;
    throw err;
  }
  throw new Error(`expected "${sql}" to be rejected`);
}

describe('accepted GoogleSQL', () => {
  const cases: { sql: string; contains: string[] }[] = [
    { sql: 'SELECT * FROM `local-project.ds.t`', contains: ['FROM "ds"."t"'] },
    { sql: 'SELECT * FROM `local-project`.`ds`.`t`', contains: ['FROM "ds"."t"'] },
    { sql: 'SELECT * FROM ds.t AS x JOIN `ds.u` y ON x.id = y.id', contains: ['"ds"."t" AS "x"', 'JOIN "ds"."u" "y"'] },
    { sql: 'SELECT @name AS v', contains: ['$1 AS "v"'] },
    { sql: 'SELECT ? AS a, ? AS b', contains: ['$1 AS "a"', '$2 AS "b"'] },
    { sql: 'SELECT 1.5 AS f', contains: ['CAST(1.5 AS DOUBLE)'] },
    { sql: 'SELECT 0x1F AS h', contains: ['31 AS "h"'] },
    { sql: "SELECT 'it\\'s' AS s", contains: ["'it''s'"] },
    { sql: "SELECT r'\\d+' AS s", contains: ["'\\d+'"] },
    { sql: 'SELECT "double quoted" AS s', contains: ["'double quoted'"] },
    { sql: "SELECT b'\\x01A' AS b", contains: ["CAST('\\x01\\x41' AS BLOB)"] },
    { sql: "SELECT DATE '2024-01-01', TIMESTAMP '2024-01-01 00:00:00+00', DATETIME '2024-01-01 10:00:00'", contains: ["CAST('2024-01-01' AS DATE)", 'AS TIMESTAMPTZ', 'AS TIMESTAMP)'] },
    { sql: 'SELECT CAST(x AS INT64), SAFE_CAST(y AS FLOAT64) FROM ds.t', contains: ['ELSE CAST("x" AS BIGINT) END', 'TRY_CAST("y" AS DOUBLE)'] },
    { sql: 'SELECT CAST(x AS ARRAY<STRUCT<a INT64, b STRING>>) FROM ds.t', contains: ['STRUCT("a" BIGINT, "b" VARCHAR)[]'] },
    { sql: 'SELECT DATE_ADD(d, INTERVAL 2 MONTH) FROM ds.t', contains: ['CAST(("d") + INTERVAL (2) MONTH AS DATE)'] },
    { sql: 'SELECT TIMESTAMP_SUB(ts, INTERVAL @n HOUR) FROM ds.t', contains: ['INTERVAL ($1) HOUR'] },
    { sql: 'SELECT DATE_DIFF(a, b, DAY) FROM ds.t', contains: ["date_diff('day'"] },
    { sql: 'SELECT EXTRACT(DAYOFWEEK FROM d) FROM ds.t', contains: ['(EXTRACT(dow FROM "d") + 1)'] },
    { sql: "SELECT FORMAT_DATE('%F', d) FROM ds.t", contains: ["strftime(CAST(\"d\" AS DATE), '%Y-%m-%d')"] },
    { sql: 'SELECT COUNT(DISTINCT x), COUNTIF(x > 1), ANY_VALUE(x) FROM ds.t', contains: ['count(DISTINCT "x")', 'count_if("x" > 1)', 'any_value("x")'] },
    { sql: 'SELECT IF(a, 1, 2), IFNULL(a, b), SAFE_DIVIDE(a, b) FROM ds.t', contains: ['CASE WHEN "a" THEN 1 ELSE 2 END', 'coalesce("a", "b")', 'CASE WHEN ("b") = 0 THEN NULL'] },
    { sql: 'SELECT * EXCEPT (a, b) FROM ds.t', contains: ['* EXCLUDE ("a", "b")'] },
    { sql: 'SELECT x FROM ds.t, UNNEST(t.arr) AS x', contains: ['UNNEST("t"."arr") AS "__unnest_1"("x")'] },
    { sql: 'SELECT e FROM ds.t AS r, r.events AS e', contains: ['UNNEST("r"."events") AS "__unnest_1"("e")'] },
    { sql: 'SELECT x FROM ds.t WHERE x IN UNNEST(@xs)', contains: ['IN (SELECT UNNEST($1))'] },
    { sql: 'SELECT arr[OFFSET(0)], arr[ORDINAL(1)], arr[SAFE_OFFSET(2)] FROM ds.t', contains: ['WHEN (0) >= len("arr") THEN error(', 'ELSE list_extract("arr", (0) + 1) END', 'list_extract("arr", (1)) END', 'list_extract("arr", CASE WHEN (2) >= 0 THEN (2) + 1 END)'] },
    { sql: 'SELECT STRUCT(1 AS a, x) FROM ds.t', contains: ['struct_pack("a" := 1, "x" := "x")'] },
    { sql: 'SELECT ARRAY<INT64>[1, 2]', contains: ['CAST([1, 2] AS BIGINT[])'] },
    { sql: 'SELECT a FROM ds.t UNION ALL SELECT a FROM ds.u', contains: ['UNION ALL'] },
    { sql: 'SELECT a FROM ds.t UNION DISTINCT SELECT a FROM ds.u', contains: ['"t" UNION SELECT'] },
    { sql: 'SELECT a, ROW_NUMBER() OVER (PARTITION BY b ORDER BY c DESC) AS rn FROM ds.t QUALIFY rn = 1', contains: ['row_number() OVER (PARTITION BY "b" ORDER BY "c" DESC)', 'QUALIFY "rn" = 1'] },
    { sql: 'SELECT a FROM ds.t ORDER BY a NULLS LAST LIMIT 10 OFFSET 5', contains: ['NULLS LAST LIMIT 10 OFFSET 5'] },
    { sql: 'INSERT ds.t (a) VALUES (1)', contains: ['INSERT INTO "ds"."t" ("a") VALUES (1)'] },
    { sql: 'DELETE ds.t WHERE a = 1', contains: ['DELETE FROM "ds"."t" WHERE "a" = 1'] },
    { sql: 'UPDATE ds.t SET a = a + 1 WHERE TRUE', contains: ['UPDATE "ds"."t" SET "a" = "a" + CAST(1 AS BIGINT) WHERE TRUE'] },
    { sql: "SELECT 'MERGE ML.PREDICT @x' AS s -- MERGE in a comment\n", contains: ["'MERGE ML.PREDICT @x'"] },
    { sql: 'SELECT 1;', contains: ['SELECT 1'] },
    { sql: '#standardSQL\nSELECT 1', contains: ['SELECT 1'] },
    {
      sql: 'MERGE ds.t T USING ds.s S ON T.id = S.id WHEN MATCHED AND S.x > 0 THEN UPDATE SET x = S.x WHEN NOT MATCHED BY SOURCE THEN DELETE',
      contains: ['MERGE INTO "ds"."t" AS "T" USING (SELECT * FROM "ds"."s" AS "S" WHERE', 'UPDATE/MERGE must match at most one source row', 'WHEN MATCHED AND "S"."x" > 0 THEN UPDATE SET "x" = "S"."x" WHEN NOT MATCHED BY SOURCE THEN DELETE RETURNING merge_action'],
    },
  ];

  it.each(cases)('translates $sql', ({ sql, contains }) => {
    const out = translateQuery(sql, ctx).sql;
    for (const fragment of contains) expect(out).toContain(fragment);
  });

  it('names anonymous select items f0_, f1_ like BigQuery', () => {
    expect(translateQuery('SELECT a, COUNT(*), b AS c, 1 + 1 FROM ds.t', ctx).sql).toBe('SELECT "a", count(*) AS "f0_", "b" AS "c", CAST(1 AS BIGINT) + CAST(1 AS BIGINT) AS "f1_" FROM "ds"."t"');
  });

  // GoogleSQL's precedence is in the tree; DuckDB gets parentheses wherever its own would bind differently.
  it.each([
    { sql: 'SELECT 1 | 2 & 3 AS v', out: '1 | (2 & 3) AS "v"' },
    { sql: 'SELECT 1 << 2 + 3 AS v', out: '1 << (CAST(2 AS BIGINT) + CAST(3 AS BIGINT)) AS "v"' },
    { sql: 'SELECT a - b - c AS v FROM ds.t', out: '"a" - "b" - "c" AS "v"' },
    { sql: 'SELECT a - (b - c) AS v FROM ds.t', out: '"a" - ("b" - "c") AS "v"' },
    { sql: "SELECT 'a' || 'b' = 'ab' AS v", out: "('a' || 'b') = 'ab' AS \"v\"" },
    { sql: 'SELECT a FROM ds.t WHERE NOT a = 1 AND b OR c', out: 'WHERE NOT ("a" = 1) AND "b" OR "c"' },
    { sql: 'SELECT a FROM ds.t WHERE a BETWEEN 1 AND 2 AND b', out: 'WHERE "a" BETWEEN 1 AND 2 AND "b"' },
    { sql: 'SELECT -a * b AS v FROM ds.t', out: '-"a" * "b" AS "v"' },
  ])('keeps GoogleSQL precedence: $sql', ({ sql, out }) => {
    expect(translateQuery(sql, ctx).sql).toContain(out);
  });

  it('numbers named parameters by first use and reuses them', () => {
    const t = translateQuery('SELECT @a, @b, @A', ctx);
    expect(t.namedParams).toEqual(['a', 'b']);
    expect(t.sql).toContain('$1 AS "f0_", $2 AS "f1_", $1 AS "f2_"');
  });

  it('reports the statement type, referenced tables and DML target', () => {
    const t = translateQuery('INSERT INTO ds.t SELECT * FROM ds.u', ctx);
    expect(t.statementType).toBe('INSERT');
    expect(t.dmlTarget).toEqual({ projectId: 'local-project', datasetId: 'ds', tableId: 't' });
    expect(t.tables.map((x) => `${x.datasetId}.${x.tableId}`)).toEqual(['ds.t', 'ds.u']);
  });

  it('does not treat CTE names as tables', () => {
    const t = translateQuery('WITH c AS (SELECT 1 AS x) SELECT x FROM c', ctx);
    expect(t.tables).toEqual([]);
  });

  it('resolves one-part table names against defaultDataset', () => {
    const t = translateQuery('SELECT * FROM events', { ...ctx, defaultDataset: { datasetId: 'ds' } });
    expect(t.sql).toContain('FROM "ds"."events"');
  });

  it('accepts the request project as well as the endpoint project', () => {
    const t = translateQuery('SELECT * FROM `other.ds.t`', { projectId: 'local-project', requestProjectId: 'other' });
    expect(t.tables).toEqual([{ projectId: 'other', datasetId: 'ds', tableId: 't', readFilters: [] }]);
  });
});

describe('partition filters (what require_partition_filter is held against)', () => {
  /** Each table's `readFilters` by `dataset.table`; `undefined` = written or named only, never read. */
  const cases: { sql: string; filters: Record<string, string[] | undefined> }[] = [
    { sql: 'SELECT * FROM ds.t', filters: { 'ds.t': [] } },
    { sql: "SELECT * FROM ds.t WHERE d >= DATE '1900-01-01'", filters: { 'ds.t': ['d'] } },
    { sql: 'SELECT * FROM ds.t WHERE d = @day AND kind = @kind', filters: { 'ds.t': ['d', 'kind'] } },
    { sql: 'SELECT * FROM ds.t WHERE (d BETWEEN @a AND @b) AND x > 1', filters: { 'ds.t': ['d', 'x'] } },
    { sql: "SELECT * FROM ds.t WHERE d IN (DATE '2024-01-01', '2024-01-02')", filters: { 'ds.t': ['d'] } },
    { sql: 'SELECT * FROM ds.t WHERE d IN UNNEST(@days)', filters: { 'ds.t': ['d'] } },
    { sql: 'SELECT * FROM ds.t WHERE DATE_SUB(CURRENT_DATE(), INTERVAL 7 DAY) <= d', filters: { 'ds.t': ['d'] } },
    { sql: "SELECT * FROM ds.t WHERE ts >= TIMESTAMP_TRUNC(CAST(@x AS TIMESTAMP), DAY)", filters: { 'ds.t': ['ts'] } },
    { sql: "SELECT * FROM ds.t WHERE (d IS NULL OR d >= DATE '0001-01-01')", filters: { 'ds.t': ['d'] } },
    { sql: "SELECT * FROM ds.t AS x WHERE x.d = '2024-01-01'", filters: { 'ds.t': ['d'] } },
    { sql: "SELECT * FROM ds.t WHERE t.d = '2024-01-01'", filters: { 'ds.t': ['d'] } },
    { sql: "SELECT * FROM `ds.t` x WHERE `x.d` = '2024-01-01'", filters: { 'ds.t': ['d'] } },
    // Not usable for partition elimination: an OR with another column, a NOT, a column on the
    // other side, a subquery, another table's alias, a function of the column.
    { sql: "SELECT * FROM ds.t WHERE d >= '2024-01-01' OR kind = 'a'", filters: { 'ds.t': [] } },
    { sql: "SELECT * FROM ds.t WHERE NOT d = '2024-01-01'", filters: { 'ds.t': [] } },
    { sql: "SELECT * FROM ds.t WHERE d NOT IN ('2024-01-01')", filters: { 'ds.t': [] } },
    { sql: 'SELECT * FROM ds.t WHERE d = other_day', filters: { 'ds.t': [] } },
    { sql: 'SELECT * FROM ds.t WHERE d = (SELECT MAX(d) FROM ds.u)', filters: { 'ds.t': [], 'ds.u': [] } },
    { sql: "SELECT * FROM ds.t AS x JOIN ds.u AS y ON x.id = y.id WHERE y.d = '2024-01-01'", filters: { 'ds.t': [], 'ds.u': ['d'] } },
    { sql: "SELECT * FROM ds.t WHERE DATE_ADD(d, INTERVAL 1 DAY) = '2024-01-01'", filters: { 'ds.t': [] } },
    { sql: "SELECT * FROM ds.t WHERE d != '2024-01-01'", filters: { 'ds.t': [] } },
    { sql: 'SELECT * FROM ds.t WHERE CASE WHEN k = 1 AND d >= @x THEN TRUE END', filters: { 'ds.t': [] } },
    { sql: 'SELECT * FROM ds.t WHERE k = 1 OR (d >= @x AND k = 2)', filters: { 'ds.t': [] } },
    // Each read is judged in its own query block; a table read twice keeps what both reads filter.
    { sql: "WITH c AS (SELECT * FROM ds.t WHERE d = @d) SELECT * FROM c WHERE x = 1", filters: { 'ds.t': ['d'] } },
    { sql: "SELECT * FROM (SELECT * FROM ds.t) WHERE d = @d", filters: { 'ds.t': [] } },
    { sql: "SELECT d FROM ds.t WHERE d = @d UNION ALL SELECT d FROM ds.t WHERE kind = 'a'", filters: { 'ds.t': [] } },
    { sql: "SELECT d FROM ds.t WHERE d = @d UNION ALL SELECT d FROM ds.t WHERE d < @d ORDER BY d", filters: { 'ds.t': ['d'] } },
    { sql: "SELECT * FROM ds.u WHERE id IN (SELECT id FROM ds.t WHERE d = @d) AND d = @d", filters: { 'ds.t': ['d'], 'ds.u': ['d'] } },
    // DML: UPDATE and DELETE read their target; INSERT only writes it.
    { sql: "UPDATE ds.t SET x = 1 WHERE d = '2024-01-01'", filters: { 'ds.t': ['d'] } },
    { sql: 'UPDATE ds.t AS r SET x = 1 WHERE r.kind = @k', filters: { 'ds.t': ['kind'] } },
    { sql: "DELETE FROM ds.t WHERE d >= '2024-01-01' AND kind = @k", filters: { 'ds.t': ['d', 'kind'] } },
    { sql: 'INSERT INTO ds.t (d) VALUES (CURRENT_DATE())', filters: { 'ds.t': undefined } },
    { sql: 'INSERT INTO ds.t (d) SELECT d FROM ds.u', filters: { 'ds.t': undefined, 'ds.u': [] } },
  ];

  it.each(cases)('$sql', ({ sql, filters }) => {
    const t = translateQuery(sql, ctx);
    expect(Object.fromEntries(t.tables.map((x) => [`${x.datasetId}.${x.tableId}`, x.readFilters]))).toEqual(filters);
  });
});

describe('rejected GoogleSQL', () => {
  const cases: { sql: string; reason: string; names: string }[] = [
    { sql: 'SELECT * FROM ML.PREDICT(MODEL m, TABLE t)', reason: 'invalidQuery', names: 'function ML.PREDICT' },
    { sql: 'MERGE ds.t USING ds.s ON t.id = s.id WHEN NOT MATCHED THEN INSERT ROW', reason: 'invalidQuery', names: 'INSERT ROW' },
    { sql: 'DECLARE x INT64', reason: 'invalidQuery', names: 'statement DECLARE' },
    { sql: 'CREATE TABLE ds.t (x INT64)', reason: 'invalidQuery', names: 'statement CREATE' },
    { sql: 'BEGIN SELECT 1; END', reason: 'invalidQuery', names: 'statement BEGIN' },
    { sql: 'SELECT 1; SELECT 2', reason: 'invalidQuery', names: 'multi-statement' },
    { sql: 'SELECT * FROM ds.t FOR SYSTEM_TIME AS OF TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 HOUR)', reason: 'invalidQuery', names: 'FOR SYSTEM_TIME AS OF' },
    { sql: 'SELECT * FROM ds.t PIVOT (SUM(x) FOR y IN (1, 2))', reason: 'invalidQuery', names: 'PIVOT' },
    { sql: 'SELECT * FROM ds.t TABLESAMPLE SYSTEM (10 PERCENT)', reason: 'invalidQuery', names: 'TABLESAMPLE' },
    { sql: 'SELECT NO_SUCH_FUNCTION(1)', reason: 'invalidQuery', names: 'function NO_SUCH_FUNCTION' },
    { sql: "SELECT read_parquet('x')", reason: 'invalidQuery', names: 'function READ_PARQUET' },
    { sql: 'SELECT NET.HOST(url) FROM ds.t', reason: 'invalidQuery', names: 'function NET.HOST' },
    { sql: 'SELECT SAFE.PARSE_DATE("%F", s) FROM ds.t', reason: 'invalidQuery', names: 'SAFE. function prefix' },
    { sql: 'SELECT AS STRUCT 1 AS a', reason: 'invalidQuery', names: 'SELECT AS STRUCT' },
    { sql: 'SELECT x FROM UNNEST([1]) AS x WITH OFFSET', reason: 'invalidQuery', names: 'WITH OFFSET' },
    { sql: 'SELECT ARRAY(SELECT 1)', reason: 'invalidQuery', names: 'ARRAY(subquery)' },
    { sql: 'SELECT 5 % 2', reason: 'invalidQuery', names: 'operator %' },
    { sql: 'SELECT 5 ^ 2', reason: 'invalidQuery', names: 'operator ^' },
    { sql: "SELECT FORMAT_DATE('%Q', d) FROM ds.t", reason: 'invalidQuery', names: 'format element %Q' },
    { sql: "SELECT FORMAT('%t', x) FROM ds.t", reason: 'invalidQuery', names: 'FORMAT specifier %t' },
    { sql: 'SELECT @@session.time_zone', reason: 'invalidQuery', names: 'system variable @@session' },
    { sql: 'SELECT * FROM `ds.INFORMATION_SCHEMA.TABLES`', reason: 'invalidQuery', names: 'INFORMATION_SCHEMA' },
    { sql: 'SELECT * FROM `ds.events_*` WHERE _TABLE_SUFFIX = "x"', reason: 'invalidQuery', names: 'wildcard table' },
    { sql: 'SELECT * FROM [proj:ds.t]', reason: 'invalidQuery', names: 'legacy SQL table reference' },
    { sql: '#legacySQL\nSELECT 1', reason: 'invalidQuery', names: 'legacy SQL' },
    { sql: 'SELECT DATE_TRUNC(d, ISOYEAR) FROM ds.t', reason: 'invalidQuery', names: 'DATE_TRUNC with date part ISOYEAR' },
    { sql: "SELECT CAST(d AS STRING FORMAT 'YYYY') FROM ds.t", reason: 'invalidQuery', names: 'CAST ... FORMAT' },
    { sql: 'SELECT * FROM ds.t WHERE a = @a AND b = ?', reason: 'invalidQuery', names: 'mix named' },
    { sql: 'UPDATE ds.t SET a = 1', reason: 'invalidQuery', names: 'UPDATE must have a WHERE clause' },
    { sql: 'DELETE FROM ds.t', reason: 'invalidQuery', names: 'DELETE must have a WHERE clause' },
    { sql: "SELECT 'unterminated", reason: 'invalidQuery', names: 'Unclosed string literal' },
    { sql: 'SELECT (1', reason: 'invalidQuery', names: 'Unclosed "("' },
    { sql: 'SELECT * FROM t', reason: 'invalid', names: 'must be qualified with a dataset' },
    { sql: 'SELECT * FROM `elsewhere.ds.t`', reason: 'notFound', names: 'elsewhere:ds' },
  ];

  it.each(cases)('rejects $sql naming "$names"', ({ sql, reason, names }) => {
    const err = errorOf(sql);
    expect(err.reason).toBe(reason);
    expect(err.message).toContain(names);
  });

  it('says which construct is unsupported in the standard wording', () => {
    expect(errorOf('SELECT ML.PREDICT(1)').message).toBe('Unsupported by the local BigQuery endpoint: function ML.PREDICT');
  });
});

/**
 * The function and operator audit of the local BigQuery endpoint: one or more
 * cases per allow-listed function (dev/bigquery/sql/functions.ts) and per
 * operator whose meaning differs in DuckDB, each citing the BigQuery
 * reference page (and example) it checks. They run through the real client in
 * the shared conformance cases, so the contract test checks them against real
 * BigQuery too. Expected values are in the form `comparable()` produces.
 *
 * Doc pages are under https://cloud.google.com/bigquery/docs/reference/standard-sql/.
 */

/** A query whose single column `v` must equal `expected`. */
export interface ValueCase {
  name: string;
  query: string;
  expected: unknown;
  /** Reference page and anchor the expectation comes from. */
  doc: string;
}

/** A query that must fail with 400 invalidQuery and a message containing / matching `message`. */
export interface ErrorCase {
  name: string;
  query: string;
  message: string | RegExp;
  doc: string;
}

export const FUNCTION_CASES: ValueCase[] = [
  // ---------------------------------------------------------------- operators
  { name: '/ of INT64 is FLOAT64', query: 'SELECT 7 / 2 AS v', expected: 3.5, doc: 'operators#arithmetic_operators' },
  { name: '/ groups left to right with *', query: 'SELECT 8 / 2 * 2 AS v', expected: 8, doc: 'operators#operator_precedence' },
  { name: '/ binds tighter than +', query: 'SELECT 1 + 6 / 3 AS v', expected: 3, doc: 'operators#operator_precedence' },
  { name: '/ with a NULL operand and a zero divisor is NULL', query: 'SELECT CAST(NULL AS INT64) / 0 AS v', expected: null, doc: 'operators#arithmetic_operators' },
  { name: 'INT64 arithmetic past INT32 does not overflow', query: 'SELECT 2147483647 + 1 AS v', expected: 2147483648, doc: 'data-types#integer_types' },
  { name: 'OFFSET is zero-based', query: 'SELECT [10, 20, 30][OFFSET(2)] AS v', expected: 30, doc: 'operators#array_subscript_operator' },
  { name: 'ORDINAL is one-based', query: 'SELECT [10, 20, 30][ORDINAL(3)] AS v', expected: 30, doc: 'operators#array_subscript_operator' },
  { name: 'a bare index is OFFSET', query: 'SELECT [10, 20, 30][1] AS v', expected: 20, doc: 'operators#array_subscript_operator' },
  { name: 'SAFE_OFFSET out of range is NULL', query: 'SELECT [10, 20, 30][SAFE_OFFSET(3)] AS v', expected: null, doc: 'operators#array_subscript_operator' },
  { name: 'SAFE_OFFSET of a negative index is NULL (not counted from the end)', query: 'SELECT [10, 20, 30][SAFE_OFFSET(-1)] AS v', expected: null, doc: 'operators#array_subscript_operator' },
  { name: 'SAFE_ORDINAL(0) is NULL', query: 'SELECT [10, 20, 30][SAFE_ORDINAL(0)] AS v', expected: null, doc: 'operators#array_subscript_operator' },
  { name: 'subscript of a NULL array is NULL', query: 'SELECT CAST(NULL AS ARRAY<INT64>)[OFFSET(0)] AS v', expected: null, doc: 'operators#array_subscript_operator' },
  { name: '|| concatenates', query: "SELECT 'a' || 'b' AS v", expected: 'ab', doc: 'operators#concatenation_operator' },

  // ---------------------------------------------------------------- math
  { name: 'ABS', query: 'SELECT ABS(-25) AS v', expected: 25, doc: 'mathematical_functions#abs' },
  { name: 'SIGN', query: 'SELECT SIGN(-25) AS v', expected: -1, doc: 'mathematical_functions#sign' },
  { name: 'SQRT', query: 'SELECT SQRT(25.0) AS v', expected: 5, doc: 'mathematical_functions#sqrt' },
  { name: 'EXP(0)', query: 'SELECT EXP(0.0) AS v', expected: 1, doc: 'mathematical_functions#exp' },
  { name: 'LN(1)', query: 'SELECT LN(1.0) AS v', expected: 0, doc: 'mathematical_functions#ln' },
  { name: 'LOG(100, 10)', query: 'SELECT LOG(100, 10) AS v', expected: 2, doc: 'mathematical_functions#log' },
  { name: 'LOG10(100)', query: 'SELECT LOG10(100) AS v', expected: 2, doc: 'mathematical_functions#log10' },
  { name: 'POW(2, 3)', query: 'SELECT POW(2, 3) AS v', expected: 8, doc: 'mathematical_functions#pow' },
  { name: 'POW of IEEE infinity is infinity', query: "SELECT POW(CAST('inf' AS FLOAT64), 2) AS v", expected: Infinity, doc: 'mathematical_functions#pow' },
  { name: 'an array with a NULL element inside the query', query: 'SELECT ARRAY_LENGTH([1, NULL]) AS v', expected: 2, doc: 'data-types#array_nulls' },
  { name: 'POWER(2, 3)', query: 'SELECT POWER(2, 3) AS v', expected: 8, doc: 'mathematical_functions#power' },
  { name: 'ROUND(2.5) is 3 (half away from zero)', query: 'SELECT ROUND(2.5) AS v', expected: 3, doc: 'mathematical_functions#round' },
  { name: 'ROUND(-2.5) is -3', query: 'SELECT ROUND(-2.5) AS v', expected: -3, doc: 'mathematical_functions#round' },
  { name: 'ROUND(NUMERIC 2.5) is 3', query: "SELECT ROUND(NUMERIC '2.5') AS v", expected: 'Big:3', doc: 'mathematical_functions#round' },
  { name: 'ROUND(NUMERIC -0.125, 2) is -0.13', query: "SELECT ROUND(NUMERIC '-0.125', 2) AS v", expected: 'Big:-0.13', doc: 'mathematical_functions#round' },
  { name: 'ROUND(123.7, -1) is 120', query: 'SELECT ROUND(123.7, -1) AS v', expected: 120, doc: 'mathematical_functions#round' },
  { name: 'TRUNC(-2.7) is -2', query: 'SELECT TRUNC(-2.7) AS v', expected: -2, doc: 'mathematical_functions#trunc' },
  { name: 'FLOOR(-2.5) is -3', query: 'SELECT FLOOR(-2.5) AS v', expected: -3, doc: 'mathematical_functions#floor' },
  { name: 'CEIL(2.1) is 3', query: 'SELECT CEIL(2.1) AS v', expected: 3, doc: 'mathematical_functions#ceil' },
  { name: 'CEILING(-2.9) is -2', query: 'SELECT CEILING(-2.9) AS v', expected: -2, doc: 'mathematical_functions#ceiling' },
  { name: 'DIV truncates toward zero', query: 'SELECT DIV(-20, 3) AS v', expected: -6, doc: 'mathematical_functions#div' },
  { name: 'MOD keeps the sign of X', query: 'SELECT MOD(-25, 12) AS v', expected: -1, doc: 'mathematical_functions#mod' },
  { name: 'MOD with a NULL argument is NULL', query: 'SELECT MOD(CAST(NULL AS INT64), 0) AS v', expected: null, doc: 'mathematical_functions#mod' },
  { name: 'SAFE_DIVIDE(20, 4)', query: 'SELECT SAFE_DIVIDE(20, 4) AS v', expected: 5, doc: 'mathematical_functions#safe_divide' },
  { name: 'SAFE_DIVIDE by zero is NULL', query: 'SELECT SAFE_DIVIDE(20, 0) AS v', expected: null, doc: 'mathematical_functions#safe_divide' },
  { name: 'GREATEST', query: 'SELECT GREATEST(1, 5, 3) AS v', expected: 5, doc: 'mathematical_functions#greatest' },
  { name: 'LEAST with a NULL is NULL', query: 'SELECT LEAST(1, NULL) AS v', expected: null, doc: 'mathematical_functions#least' },
  { name: 'IS_NAN', query: "SELECT IS_NAN(CAST('NaN' AS FLOAT64)) AS v", expected: true, doc: 'mathematical_functions#is_nan' },
  { name: 'IS_INF', query: "SELECT IS_INF(CAST('-inf' AS FLOAT64)) AS v", expected: true, doc: 'mathematical_functions#is_inf' },
  { name: 'RAND is in [0, 1)', query: 'SELECT RAND() >= 0 AND RAND() < 1 AS v', expected: true, doc: 'mathematical_functions#rand' },

  // ---------------------------------------------------------------- conditional
  { name: 'IF', query: 'SELECT IF(TRUE, 1, 2) AS v', expected: 1, doc: 'conditional_expressions#if' },
  { name: 'IFNULL', query: 'SELECT IFNULL(NULL, 0) AS v', expected: 0, doc: 'conditional_expressions#ifnull' },
  { name: 'COALESCE', query: "SELECT COALESCE(NULL, 'B', 'C') AS v", expected: 'B', doc: 'conditional_expressions#coalesce' },
  { name: 'NULLIF', query: 'SELECT NULLIF(0, 0) AS v', expected: null, doc: 'conditional_expressions#nullif' },

  // ---------------------------------------------------------------- strings (characters vs bytes)
  { name: 'CONCAT', query: "SELECT CONCAT('T.P.', ' ', 'Bar') AS v", expected: 'T.P. Bar', doc: 'string_functions#concat' },
  { name: 'LOWER', query: "SELECT LOWER('FOO Bar') AS v", expected: 'foo bar', doc: 'string_functions#lower' },
  { name: 'UPPER', query: "SELECT UPPER('foo') AS v", expected: 'FOO', doc: 'string_functions#upper' },
  { name: 'LENGTH of STRING counts characters', query: "SELECT LENGTH('абвгд') AS v", expected: 5, doc: 'string_functions#length' },
  { name: 'LENGTH of NULL is NULL', query: 'SELECT LENGTH(CAST(NULL AS STRING)) AS v', expected: null, doc: 'string_functions#length' },
  { name: 'LENGTH of BYTES counts bytes', query: "SELECT LENGTH(CAST('абвгд' AS BYTES)) AS v", expected: 10, doc: 'string_functions#length' },
  { name: 'CHAR_LENGTH counts characters', query: "SELECT CHAR_LENGTH('абвгд') AS v", expected: 5, doc: 'string_functions#char_length' },
  { name: 'CHARACTER_LENGTH counts characters', query: "SELECT CHARACTER_LENGTH('абвгд') AS v", expected: 5, doc: 'string_functions#character_length' },
  { name: 'SUBSTR from position 2 for 2', query: "SELECT SUBSTR('apple', 2, 2) AS v", expected: 'pp', doc: 'string_functions#substr' },
  { name: 'SUBSTR with a negative position counts from the end', query: "SELECT SUBSTR('apple', -2) AS v", expected: 'le', doc: 'string_functions#substr' },
  { name: 'SUBSTR position 0 is position 1', query: "SELECT SUBSTR('apple', 0, 2) AS v", expected: 'ap', doc: 'string_functions#substr' },
  { name: 'SUBSTR position before the start is position 1', query: "SELECT SUBSTR('apple', -123, 2) AS v", expected: 'ap', doc: 'string_functions#substr' },
  { name: 'SUBSTR past the end is empty', query: "SELECT SUBSTR('apple', 123) AS v", expected: '', doc: 'string_functions#substr' },
  { name: 'SUBSTR counts characters', query: "SELECT SUBSTR('héllo', 2, 2) AS v", expected: 'él', doc: 'string_functions#substr' },
  { name: 'SUBSTRING is SUBSTR', query: "SELECT SUBSTRING('apple', 2, 2) AS v", expected: 'pp', doc: 'string_functions#substring' },
  { name: 'STARTS_WITH', query: "SELECT STARTS_WITH('foo', 'f') AS v", expected: true, doc: 'string_functions#starts_with' },
  { name: 'ENDS_WITH', query: "SELECT ENDS_WITH('apple', 'e') AS v", expected: true, doc: 'string_functions#ends_with' },
  { name: 'REPLACE', query: "SELECT REPLACE('apple pie', 'pie', 'cobbler') AS v", expected: 'apple cobbler', doc: 'string_functions#replace' },
  { name: 'TRIM', query: "SELECT TRIM('   apple   ') AS v", expected: 'apple', doc: 'string_functions#trim' },
  { name: 'TRIM a set of characters', query: "SELECT TRIM('***apple***', '*') AS v", expected: 'apple', doc: 'string_functions#trim' },
  { name: 'LTRIM', query: "SELECT LTRIM('   apple   ') AS v", expected: 'apple   ', doc: 'string_functions#ltrim' },
  { name: 'RTRIM', query: "SELECT RTRIM('***apple***', '*') AS v", expected: '***apple', doc: 'string_functions#rtrim' },
  { name: 'LPAD pads to length', query: "SELECT LPAD('abc', 5) AS v", expected: '  abc', doc: 'string_functions#lpad' },
  { name: 'LPAD truncates to length', query: "SELECT LPAD('abc', 2) AS v", expected: 'ab', doc: 'string_functions#lpad' },
  { name: 'LPAD counts characters', query: "SELECT LPAD('例子', 4, 'ab') AS v", expected: 'ab例子', doc: 'string_functions#lpad' },
  { name: 'RPAD with a pattern', query: "SELECT RPAD('abc', 8, 'de') AS v", expected: 'abcdeded', doc: 'string_functions#rpad' },
  { name: 'REPEAT', query: "SELECT REPEAT('abc', 3) AS v", expected: 'abcabcabc', doc: 'string_functions#repeat' },
  { name: 'STRPOS counts characters', query: "SELECT STRPOS('héllo', 'l') AS v", expected: 3, doc: 'string_functions#strpos' },
  { name: 'STRPOS not found is 0', query: "SELECT STRPOS('foo', 'x') AS v", expected: 0, doc: 'string_functions#strpos' },
  { name: 'LEFT counts characters', query: "SELECT LEFT('apple', 3) AS v", expected: 'app', doc: 'string_functions#left' },
  { name: 'RIGHT counts characters', query: "SELECT RIGHT('héllo', 4) AS v", expected: 'éllo', doc: 'string_functions#right' },
  { name: 'SPLIT with a delimiter', query: "SELECT SPLIT('b c d', ' ') AS v", expected: ['b', 'c', 'd'], doc: 'string_functions#split' },
  { name: 'REGEXP_CONTAINS', query: "SELECT REGEXP_CONTAINS('foo@example.com', r'@[a-zA-Z0-9-]+\\.[a-zA-Z0-9-.]+') AS v", expected: true, doc: 'string_functions#regexp_contains' },
  { name: 'REGEXP_REPLACE replaces every match', query: "SELECT REGEXP_REPLACE('a1b2', r'[0-9]', 'X') AS v", expected: 'aXbX', doc: 'string_functions#regexp_replace' },
  { name: 'REGEXP_REPLACE with a group reference', query: "SELECT REGEXP_REPLACE('# Heading', r'^# ([a-zA-Z0-9\\s]+$)', '<h1>\\\\1</h1>') AS v", expected: '<h1>Heading</h1>', doc: 'string_functions#regexp_replace' },
  { name: 'REGEXP_EXTRACT without a match is NULL', query: "SELECT REGEXP_EXTRACT('abc', r'x') AS v", expected: null, doc: 'string_functions#regexp_extract' },
  { name: 'FORMAT %d', query: "SELECT FORMAT('%d', 10) AS v", expected: '10', doc: 'string_functions#format_string' },
  { name: 'FORMAT with width', query: "SELECT FORMAT('|%10d|', 11) AS v", expected: '|        11|', doc: 'string_functions#format_string' },
  { name: 'TO_BASE64', query: "SELECT TO_BASE64(b'\\377\\340') AS v", expected: '/+A=', doc: 'string_functions#to_base64' },
  { name: 'FROM_BASE64', query: "SELECT FROM_BASE64('/+A=') AS v", expected: `Buffer:${Buffer.from([0xff, 0xe0]).toString('base64')}`, doc: 'string_functions#from_base64' },

  // ---------------------------------------------------------------- date / time
  { name: 'DATE_ADD clamps to the last day of the month', query: "SELECT DATE_ADD(DATE '2008-12-31', INTERVAL 2 MONTH) AS v", expected: 'BigQueryDate:2009-02-28', doc: 'date_functions#date_add' },
  { name: 'DATE_ADD of days', query: "SELECT DATE_ADD(DATE '2008-12-25', INTERVAL 5 DAY) AS v", expected: 'BigQueryDate:2008-12-30', doc: 'date_functions#date_add' },
  { name: 'DATE_SUB clamps too', query: "SELECT DATE_SUB(DATE '2024-03-31', INTERVAL 1 MONTH) AS v", expected: 'BigQueryDate:2024-02-29', doc: 'date_functions#date_sub' },
  { name: 'DATE_DIFF in DAY', query: "SELECT DATE_DIFF(DATE '2010-07-07', DATE '2008-12-25', DAY) AS v", expected: 559, doc: 'date_functions#date_diff' },
  { name: 'DATE_DIFF in WEEK counts Sundays crossed', query: "SELECT DATE_DIFF(DATE '2017-10-15', DATE '2017-10-14', WEEK) AS v", expected: 1, doc: 'date_functions#date_diff' },
  { name: 'DATE_DIFF in ISOWEEK counts Mondays crossed', query: "SELECT DATE_DIFF(DATE '2017-10-15', DATE '2017-10-14', ISOWEEK) AS v", expected: 0, doc: 'date_functions#date_diff' },
  { name: 'DATE_DIFF in YEAR counts year boundaries', query: "SELECT DATE_DIFF(DATE '2018-01-01', DATE '2017-12-31', YEAR) AS v", expected: 1, doc: 'date_functions#date_diff' },
  { name: 'DATE_DIFF in QUARTER', query: "SELECT DATE_DIFF(DATE '2024-04-01', DATE '2024-03-31', QUARTER) AS v", expected: 1, doc: 'date_functions#date_diff' },
  { name: 'DATE_TRUNC to ISOWEEK starts Monday', query: "SELECT DATE_TRUNC(DATE '2015-06-15', ISOWEEK) AS v", expected: 'BigQueryDate:2015-06-15', doc: 'date_functions#date_trunc' },
  { name: 'DATE_TRUNC to YEAR', query: "SELECT DATE_TRUNC(DATE '2008-12-25', YEAR) AS v", expected: 'BigQueryDate:2008-01-01', doc: 'date_functions#date_trunc' },
  { name: 'DATETIME_ADD', query: "SELECT DATETIME_ADD(DATETIME '2008-12-25 15:30:00', INTERVAL 10 MINUTE) AS v", expected: 'BigQueryDatetime:2008-12-25T15:40:00', doc: 'datetime_functions#datetime_add' },
  { name: 'DATETIME_SUB', query: "SELECT DATETIME_SUB(DATETIME '2008-12-25 15:30:00', INTERVAL 10 MINUTE) AS v", expected: 'BigQueryDatetime:2008-12-25T15:20:00', doc: 'datetime_functions#datetime_sub' },
  { name: 'DATETIME_DIFF in DAY', query: "SELECT DATETIME_DIFF(DATETIME '2010-07-07 10:20:00', DATETIME '2008-12-25 15:30:00', DAY) AS v", expected: 559, doc: 'datetime_functions#datetime_diff' },
  { name: 'DATETIME_TRUNC to DAY', query: "SELECT DATETIME_TRUNC(DATETIME '2008-12-25 15:30:00', DAY) AS v", expected: 'BigQueryDatetime:2008-12-25T00:00:00', doc: 'datetime_functions#datetime_trunc' },
  { name: 'TIMESTAMP_ADD', query: "SELECT TIMESTAMP_ADD(TIMESTAMP '2008-12-25 15:30:00+00', INTERVAL 10 MINUTE) AS v", expected: 'BigQueryTimestamp:2008-12-25T15:40:00.000Z', doc: 'timestamp_functions#timestamp_add' },
  { name: 'TIMESTAMP_SUB', query: "SELECT TIMESTAMP_SUB(TIMESTAMP '2008-12-25 15:30:00+00', INTERVAL 10 MINUTE) AS v", expected: 'BigQueryTimestamp:2008-12-25T15:20:00.000Z', doc: 'timestamp_functions#timestamp_sub' },
  { name: 'TIMESTAMP_DIFF in HOUR', query: "SELECT TIMESTAMP_DIFF(TIMESTAMP '2010-07-07 10:20:00+00', TIMESTAMP '2008-12-25 15:30:00+00', HOUR) AS v", expected: 13410, doc: 'timestamp_functions#timestamp_diff' },
  { name: 'TIMESTAMP_DIFF of a negative interval', query: "SELECT TIMESTAMP_DIFF(TIMESTAMP '2018-08-14', TIMESTAMP '2018-10-14', DAY) AS v", expected: -61, doc: 'timestamp_functions#timestamp_diff' },
  { name: 'TIMESTAMP_TRUNC to DAY', query: "SELECT TIMESTAMP_TRUNC(TIMESTAMP '2008-12-25 15:30:00+00', DAY, 'UTC') AS v", expected: 'BigQueryTimestamp:2008-12-25T00:00:00.000Z', doc: 'timestamp_functions#timestamp_trunc' },
  { name: 'DATE from parts', query: 'SELECT DATE(2016, 12, 25) AS v', expected: 'BigQueryDate:2016-12-25', doc: 'date_functions#date' },
  { name: 'DATETIME from parts', query: 'SELECT DATETIME(2008, 12, 25, 5, 30, 0) AS v', expected: 'BigQueryDatetime:2008-12-25T05:30:00', doc: 'datetime_functions#datetime' },
  { name: 'DATETIME from DATE and TIME', query: "SELECT DATETIME(DATE '2008-12-25', TIME '05:30:00') AS v", expected: 'BigQueryDatetime:2008-12-25T05:30:00', doc: 'datetime_functions#datetime' },
  { name: 'TIMESTAMP from a string with a zone', query: "SELECT TIMESTAMP('2008-12-25 15:30:00', 'America/Los_Angeles') AS v", expected: 'BigQueryTimestamp:2008-12-25T23:30:00.000Z', doc: 'timestamp_functions#timestamp' },
  { name: 'TIME from parts', query: 'SELECT TIME(15, 30, 00) AS v', expected: 'BigQueryTime:15:30:00', doc: 'time_functions#time' },
  { name: 'FORMAT_DATE %b-%d-%Y', query: "SELECT FORMAT_DATE('%b-%d-%Y', DATE '2008-12-25') AS v", expected: 'Dec-25-2008', doc: 'date_functions#format_date' },
  { name: 'FORMAT_DATETIME %c-like elements', query: "SELECT FORMAT_DATETIME('%b %d %Y %H:%M', DATETIME '2008-12-25 15:30:00') AS v", expected: 'Dec 25 2008 15:30', doc: 'datetime_functions#format_datetime' },
  { name: 'FORMAT_TIME %R', query: "SELECT FORMAT_TIME('%R', TIME '15:30:00') AS v", expected: '15:30', doc: 'time_functions#format_time' },
  { name: 'FORMAT_TIMESTAMP in a zone', query: "SELECT FORMAT_TIMESTAMP('%F %H', TIMESTAMP '2008-12-25 15:30:00+00', 'America/Los_Angeles') AS v", expected: '2008-12-25 07', doc: 'timestamp_functions#format_timestamp' },
  { name: 'PARSE_DATETIME', query: "SELECT PARSE_DATETIME('%Y-%m-%d %H:%M:%S', '1998-10-18 13:45:55') AS v", expected: 'BigQueryDatetime:1998-10-18T13:45:55', doc: 'datetime_functions#parse_datetime' },
  { name: 'PARSE_TIMESTAMP is UTC by default', query: "SELECT PARSE_TIMESTAMP('%F %T', '2008-12-25 07:30:00') AS v", expected: 'BigQueryTimestamp:2008-12-25T07:30:00.000Z', doc: 'timestamp_functions#parse_timestamp' },
  { name: 'TIMESTAMP_SECONDS', query: 'SELECT TIMESTAMP_SECONDS(1230219000) AS v', expected: 'BigQueryTimestamp:2008-12-25T15:30:00.000Z', doc: 'timestamp_functions#timestamp_seconds' },
  { name: 'TIMESTAMP_MICROS', query: 'SELECT TIMESTAMP_MICROS(1230219000000000) AS v', expected: 'BigQueryTimestamp:2008-12-25T15:30:00.000Z', doc: 'timestamp_functions#timestamp_micros' },
  { name: 'UNIX_SECONDS', query: "SELECT UNIX_SECONDS(TIMESTAMP '2008-12-25 15:30:00+00') AS v", expected: 1230219000, doc: 'timestamp_functions#unix_seconds' },
  { name: 'UNIX_SECONDS rounds down before 1970', query: "SELECT UNIX_SECONDS(TIMESTAMP '1969-12-31 23:59:59.5+00') AS v", expected: -1, doc: 'timestamp_functions#unix_seconds' },
  { name: 'UNIX_MICROS', query: "SELECT UNIX_MICROS(TIMESTAMP '2008-12-25 15:30:00+00') AS v", expected: 1230219000000000, doc: 'timestamp_functions#unix_micros' },
  { name: 'UNIX_DATE', query: "SELECT UNIX_DATE(DATE '2008-12-25') AS v", expected: 14238, doc: 'date_functions#unix_date' },
  { name: 'DATE_FROM_UNIX_DATE', query: 'SELECT DATE_FROM_UNIX_DATE(14238) AS v', expected: 'BigQueryDate:2008-12-25', doc: 'date_functions#date_from_unix_date' },
  { name: 'LAST_DAY with MONTH', query: "SELECT LAST_DAY(DATE '2008-11-25', MONTH) AS v", expected: 'BigQueryDate:2008-11-30', doc: 'date_functions#last_day' },
  { name: 'CURRENT_DATE is a DATE', query: 'SELECT CURRENT_DATE() IS NOT NULL AS v', expected: true, doc: 'date_functions#current_date' },
  { name: 'CURRENT_DATETIME is a DATETIME', query: 'SELECT CURRENT_DATETIME() IS NOT NULL AS v', expected: true, doc: 'datetime_functions#current_datetime' },
  { name: 'CURRENT_TIME is a TIME', query: 'SELECT CURRENT_TIME() IS NOT NULL AS v', expected: true, doc: 'time_functions#current_time' },
  { name: 'CURRENT_TIMESTAMP without parentheses', query: 'SELECT CURRENT_TIMESTAMP IS NOT NULL AS v', expected: true, doc: 'timestamp_functions#current_timestamp' },
  { name: 'GENERATE_DATE_ARRAY by 2 days', query: "SELECT GENERATE_DATE_ARRAY('2016-10-05', '2016-10-09', INTERVAL 2 DAY) AS v", expected: ['BigQueryDate:2016-10-05', 'BigQueryDate:2016-10-07', 'BigQueryDate:2016-10-09'], doc: 'array_functions#generate_date_array' },
  { name: 'GENERATE_TIMESTAMP_ARRAY', query: "SELECT ARRAY_LENGTH(GENERATE_TIMESTAMP_ARRAY('2016-10-05 00:00:00', '2016-10-07 00:00:00', INTERVAL 1 DAY)) AS v", expected: 3, doc: 'array_functions#generate_timestamp_array' },

  // ---------------------------------------------------------------- casts
  { name: 'CAST of a decimal STRING to NUMERIC', query: "SELECT CAST('1.5' AS NUMERIC) AS v", expected: 'Big:1.5', doc: 'conversion_functions#cast_numeric' },
  { name: 'CAST of FLOAT64 to INT64 rounds half away from zero', query: 'SELECT CAST(2.5 AS INT64) AS v', expected: 3, doc: 'conversion_functions#cast_int64' },
  { name: 'CAST of a padded STRING to INT64', query: "SELECT CAST(' 12 ' AS INT64) AS v", expected: 12, doc: 'conversion_functions#cast_int64' },
  { name: 'SAFE_CAST of a decimal STRING to INT64 is NULL', query: "SELECT SAFE_CAST('1.5' AS INT64) AS v", expected: null, doc: 'conversion_functions#safe_casting' },
  { name: 'CAST of INT64 to STRING', query: 'SELECT CAST(42 AS STRING) AS v', expected: '42', doc: 'conversion_functions#cast_as_string' },
  { name: 'CAST of BOOL to STRING', query: 'SELECT CAST(TRUE AS STRING) AS v', expected: 'true', doc: 'conversion_functions#cast_as_string' },
  { name: "CAST of 'true' to BOOL", query: "SELECT CAST('TRUE' AS BOOL) AS v", expected: true, doc: 'conversion_functions#cast_bool' },

  // ---------------------------------------------------------------- aggregates
  { name: 'COUNT(*) counts NULL rows', query: 'SELECT COUNT(*) AS v FROM UNNEST([1, NULL]) AS x', expected: 2, doc: 'aggregate_functions#count' },
  { name: 'COUNT(x) skips NULLs', query: 'SELECT COUNT(x) AS v FROM UNNEST([1, NULL]) AS x', expected: 1, doc: 'aggregate_functions#count' },
  { name: 'COUNT(DISTINCT x)', query: 'SELECT COUNT(DISTINCT x) AS v FROM UNNEST([1, 1, 2]) AS x', expected: 2, doc: 'aggregate_functions#count' },
  { name: 'SUM of no rows is NULL', query: 'SELECT SUM(x) AS v FROM UNNEST(CAST([] AS ARRAY<INT64>)) AS x', expected: null, doc: 'aggregate_functions#sum' },
  { name: 'AVG', query: 'SELECT AVG(x) AS v FROM UNNEST([0, 2, 4, 4, 5]) AS x', expected: 3, doc: 'aggregate_functions#avg' },
  { name: 'MIN', query: 'SELECT MIN(x) AS v FROM UNNEST([8, 37, 4, 55]) AS x', expected: 4, doc: 'aggregate_functions#min' },
  { name: 'MAX', query: 'SELECT MAX(x) AS v FROM UNNEST([8, 37, 4, 55]) AS x', expected: 55, doc: 'aggregate_functions#max' },
  { name: 'ANY_VALUE of one value', query: 'SELECT ANY_VALUE(x) AS v FROM UNNEST([7]) AS x', expected: 7, doc: 'aggregate_functions#any_value' },
  { name: 'LOGICAL_AND', query: 'SELECT LOGICAL_AND(x) AS v FROM UNNEST([TRUE, FALSE, TRUE]) AS x', expected: false, doc: 'aggregate_functions#logical_and' },
  { name: 'LOGICAL_OR', query: 'SELECT LOGICAL_OR(x) AS v FROM UNNEST([TRUE, FALSE, TRUE]) AS x', expected: true, doc: 'aggregate_functions#logical_or' },
  { name: 'BIT_AND', query: 'SELECT BIT_AND(x) AS v FROM UNNEST([0xF001, 0x00A1]) AS x', expected: 1, doc: 'aggregate_functions#bit_and' },
  { name: 'BIT_OR', query: 'SELECT BIT_OR(x) AS v FROM UNNEST([0xF001, 0x00A1]) AS x', expected: 61601, doc: 'aggregate_functions#bit_or' },
  { name: 'BIT_XOR', query: 'SELECT BIT_XOR(x) AS v FROM UNNEST([5678, 1234]) AS x', expected: 4860, doc: 'aggregate_functions#bit_xor' },
  { name: 'APPROX_COUNT_DISTINCT of a small set is exact', query: 'SELECT APPROX_COUNT_DISTINCT(x) AS v FROM UNNEST([1, 1, 2, 3]) AS x', expected: 3, doc: 'approximate_aggregate_functions#approx_count_distinct' },
  { name: 'STDDEV is the sample standard deviation', query: 'SELECT STDDEV(x) AS v FROM UNNEST([10, 14, 18]) AS x', expected: 4, doc: 'statistical_aggregate_functions#stddev' },
  { name: 'STDDEV_SAMP', query: 'SELECT STDDEV_SAMP(x) AS v FROM UNNEST([10, 14, 18]) AS x', expected: 4, doc: 'statistical_aggregate_functions#stddev_samp' },
  { name: 'STDDEV_POP', query: 'SELECT ROUND(STDDEV_POP(x), 6) AS v FROM UNNEST([10, 14, 18]) AS x', expected: 3.265986, doc: 'statistical_aggregate_functions#stddev_pop' },
  { name: 'VARIANCE is the sample variance', query: 'SELECT VARIANCE(x) AS v FROM UNNEST([10, 14, 18]) AS x', expected: 16, doc: 'statistical_aggregate_functions#variance' },
  { name: 'VAR_SAMP', query: 'SELECT VAR_SAMP(x) AS v FROM UNNEST([10, 14, 18]) AS x', expected: 16, doc: 'statistical_aggregate_functions#var_samp' },
  { name: 'VAR_POP', query: 'SELECT ROUND(VAR_POP(x), 6) AS v FROM UNNEST([10, 14, 18]) AS x', expected: 10.666667, doc: 'statistical_aggregate_functions#var_pop' },
  { name: 'CORR of a perfect line is 1', query: 'SELECT CORR(x, 2 * x) AS v FROM UNNEST([1, 2, 3]) AS x', expected: 1, doc: 'statistical_aggregate_functions#corr' },
  { name: 'COVAR_POP', query: 'SELECT ROUND(COVAR_POP(x, x), 6) AS v FROM UNNEST([1, 2, 3]) AS x', expected: 0.666667, doc: 'statistical_aggregate_functions#covar_pop' },
  { name: 'COVAR_SAMP', query: 'SELECT COVAR_SAMP(x, x) AS v FROM UNNEST([1, 2, 3]) AS x', expected: 1, doc: 'statistical_aggregate_functions#covar_samp' },

  // ---------------------------------------------------------------- window
  { name: 'ROW_NUMBER', query: 'SELECT ARRAY_AGG(r ORDER BY r) AS v FROM (SELECT ROW_NUMBER() OVER (ORDER BY x) AS r FROM UNNEST([5, 5, 7]) AS x)', expected: [1, 2, 3], doc: 'numbering_functions#row_number' },
  { name: 'RANK', query: 'SELECT ARRAY_AGG(r ORDER BY r) AS v FROM (SELECT RANK() OVER (ORDER BY x) AS r FROM UNNEST([5, 5, 7]) AS x)', expected: [1, 1, 3], doc: 'numbering_functions#rank' },
  { name: 'DENSE_RANK', query: 'SELECT ARRAY_AGG(r ORDER BY r) AS v FROM (SELECT DENSE_RANK() OVER (ORDER BY x) AS r FROM UNNEST([5, 5, 7]) AS x)', expected: [1, 1, 2], doc: 'numbering_functions#dense_rank' },
  { name: 'PERCENT_RANK', query: 'SELECT ARRAY_AGG(r ORDER BY r) AS v FROM (SELECT PERCENT_RANK() OVER (ORDER BY x) AS r FROM UNNEST([5, 5, 7]) AS x)', expected: [0, 0, 1], doc: 'numbering_functions#percent_rank' },
  { name: 'CUME_DIST', query: 'SELECT ARRAY_AGG(r ORDER BY r) AS v FROM (SELECT CUME_DIST() OVER (ORDER BY x) AS r FROM UNNEST([5, 5, 7, 9]) AS x)', expected: [0.5, 0.5, 0.75, 1], doc: 'numbering_functions#cume_dist' },
  { name: 'NTILE', query: 'SELECT ARRAY_AGG(r ORDER BY r) AS v FROM (SELECT NTILE(2) OVER (ORDER BY x) AS r FROM UNNEST([1, 2, 3]) AS x)', expected: [1, 1, 2], doc: 'numbering_functions#ntile' },
  { name: 'LAG with a default', query: 'SELECT ARRAY_AGG(r ORDER BY x) AS v FROM (SELECT x, LAG(x, 1, 0) OVER (ORDER BY x) AS r FROM UNNEST([1, 2, 3]) AS x)', expected: [0, 1, 2], doc: 'navigation_functions#lag' },
  { name: 'LEAD', query: 'SELECT ARRAY_AGG(IFNULL(r, -1) ORDER BY x) AS v FROM (SELECT x, LEAD(x) OVER (ORDER BY x) AS r FROM UNNEST([1, 2, 3]) AS x)', expected: [2, 3, -1], doc: 'navigation_functions#lead' },
  { name: 'FIRST_VALUE', query: 'SELECT ARRAY_AGG(r ORDER BY x) AS v FROM (SELECT x, FIRST_VALUE(x) OVER (ORDER BY x) AS r FROM UNNEST([3, 1, 2]) AS x)', expected: [1, 1, 1], doc: 'navigation_functions#first_value' },
  { name: 'LAST_VALUE over the whole partition', query: 'SELECT ARRAY_AGG(r ORDER BY x) AS v FROM (SELECT x, LAST_VALUE(x) OVER (ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS r FROM UNNEST([3, 1, 2]) AS x)', expected: [3, 3, 3], doc: 'navigation_functions#last_value' },
  { name: 'NTH_VALUE', query: 'SELECT ARRAY_AGG(r ORDER BY x) AS v FROM (SELECT x, NTH_VALUE(x, 2) OVER (ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS r FROM UNNEST([3, 1, 2]) AS x)', expected: [2, 2, 2], doc: 'navigation_functions#nth_value' },

  // ---------------------------------------------------------------- arrays
  { name: 'ARRAY_TO_STRING', query: "SELECT ARRAY_TO_STRING(['coffee', 'tea', 'milk'], '--') AS v", expected: 'coffee--tea--milk', doc: 'array_functions#array_to_string' },
  { name: 'ARRAY_CONCAT', query: 'SELECT ARRAY_CONCAT([1, 2], [3, 4], [5, 6]) AS v', expected: [1, 2, 3, 4, 5, 6], doc: 'array_functions#array_concat' },
  { name: 'ARRAY_REVERSE', query: 'SELECT ARRAY_REVERSE([1, 2, 3]) AS v', expected: [3, 2, 1], doc: 'array_functions#array_reverse' },
  { name: 'GENERATE_ARRAY with a step', query: 'SELECT GENERATE_ARRAY(0, 10, 3) AS v', expected: [0, 3, 6, 9], doc: 'array_functions#generate_array' },
  { name: 'GENERATE_ARRAY counting down', query: 'SELECT GENERATE_ARRAY(10, 0, -3) AS v', expected: [10, 7, 4, 1], doc: 'array_functions#generate_array' },
  { name: 'GENERATE_ARRAY with start > end is empty', query: 'SELECT GENERATE_ARRAY(4, 2) AS v', expected: [], doc: 'array_functions#generate_array' },

  // ---------------------------------------------------------------- JSON
  { name: 'JSON_EXTRACT_SCALAR', query: 'SELECT JSON_EXTRACT_SCALAR(\'{"name": "Jakob", "age": "6"}\', \'$.age\') AS v', expected: '6', doc: 'json_functions#json_extract_scalar' },
  { name: 'JSON_QUERY returns JSON text', query: 'SELECT JSON_QUERY(\'{"a": {"b": 1}}\', \'$.a\') AS v', expected: '{"b":1}', doc: 'json_functions#json_query' },
  { name: 'JSON_EXTRACT returns JSON text', query: 'SELECT JSON_EXTRACT(\'{"a": [1, 2]}\', \'$.a\') AS v', expected: '[1,2]', doc: 'json_functions#json_extract' },
  { name: 'TO_JSON_STRING of a struct', query: 'SELECT TO_JSON_STRING(STRUCT(1 AS a, \'x\' AS b)) AS v', expected: '{"a":1,"b":"x"}', doc: 'json_functions#to_json_string' },
  { name: 'TO_JSON of an array', query: 'SELECT TO_JSON([1, 2]) AS v', expected: '[1,2]', doc: 'json_functions#to_json' },
  { name: 'PARSE_JSON', query: 'SELECT JSON_VALUE(PARSE_JSON(\'{"id": 7}\'), \'$.id\') AS v', expected: '7', doc: 'json_functions#parse_json' },

  // ---------------------------------------------------------------- misc
  { name: 'GENERATE_UUID is 36 characters', query: 'SELECT LENGTH(GENERATE_UUID()) AS v', expected: 36, doc: 'utility-functions#generate_uuid' },
];

/** Queries BigQuery refuses at run time; the local endpoint must refuse them the same way. */
export const RUNTIME_ERROR_CASES: ErrorCase[] = [
  { name: 'a reserved keyword as an unquoted alias', query: 'SELECT 1 AS nulls', message: /Syntax error: Unexpected keyword NULLS/, doc: 'lexical#reserved_keywords' },
  { name: 'a reserved keyword as an unquoted table alias', query: 'SELECT v FROM (SELECT 1 AS v) AS range', message: /Syntax error: Unexpected keyword RANGE/, doc: 'lexical#reserved_keywords' },
  { name: 'INT64 / 0', query: 'SELECT 1 / 0 AS v', message: 'division by zero: 1 / 0', doc: 'operators#arithmetic_operators' },
  { name: 'FLOAT64 / 0', query: 'SELECT 1.5 / 0 AS v', message: 'division by zero: 1.5 / 0', doc: 'operators#arithmetic_operators' },
  { name: 'a column divided by a zero column', query: 'SELECT x / y AS v FROM UNNEST([4]) AS x, UNNEST([0]) AS y', message: /division by zero/, doc: 'operators#arithmetic_operators' },
  { name: 'DIV(x, 0)', query: 'SELECT DIV(1, 0) AS v', message: /division by zero/, doc: 'mathematical_functions#div' },
  { name: 'MOD(x, 0)', query: 'SELECT MOD(1, 0) AS v', message: 'division by zero: MOD(1, 0)', doc: 'mathematical_functions#mod' },
  { name: 'INT64 addition overflow', query: 'SELECT 9223372036854775807 + 1 AS v', message: 'int64 overflow: 9223372036854775807 + 1', doc: 'operators#arithmetic_operators' },
  { name: 'INT64 multiplication overflow', query: 'SELECT 4611686018427387904 * 2 AS v', message: 'int64 overflow: 4611686018427387904 * 2', doc: 'operators#arithmetic_operators' },
  { name: 'OFFSET past the end', query: 'SELECT [1, 2][OFFSET(2)] AS v', message: 'Array index 2 is out of bounds (overflow)', doc: 'operators#array_subscript_operator' },
  { name: 'ORDINAL past the end', query: 'SELECT [1, 2][ORDINAL(3)] AS v', message: 'Array index 3 is out of bounds (overflow)', doc: 'operators#array_subscript_operator' },
  { name: 'negative OFFSET', query: 'SELECT [1, 2][OFFSET(-1)] AS v', message: /Array index -1 is out of bounds/, doc: 'operators#array_subscript_operator' },
  { name: 'CAST of a word to INT64', query: "SELECT CAST('x' AS INT64) AS v", message: 'Bad int64 value: x', doc: 'conversion_functions#cast_int64' },
  { name: 'CAST of a decimal STRING to INT64', query: "SELECT CAST('1.5' AS INT64) AS v", message: 'Bad int64 value: 1.5', doc: 'conversion_functions#cast_int64' },
  { name: 'CAST of a word to FLOAT64', query: "SELECT CAST('x' AS FLOAT64) AS v", message: 'Bad double value: x', doc: 'conversion_functions#cast_float64' },
  { name: 'CAST of a word to BOOL', query: "SELECT CAST('x' AS BOOL) AS v", message: 'Bad bool value: x', doc: 'conversion_functions#cast_bool' },
  { name: 'LENGTH of an INT64', query: 'SELECT LENGTH(1) AS v', message: /No matching signature for function LENGTH/, doc: 'string_functions#length' },
  { name: 'GENERATE_ARRAY with a zero step', query: 'SELECT GENERATE_ARRAY(1, 10, 0) AS v', message: 'Sequence step cannot be 0', doc: 'array_functions#generate_array' },
  { name: 'POW(0, -1)', query: 'SELECT POW(0, -1) AS v', message: 'Floating point error in function: POW', doc: 'mathematical_functions#pow' },
  { name: 'EXP overflow', query: 'SELECT EXP(1000.0) AS v', message: 'Floating point error in function: EXP', doc: 'mathematical_functions#exp' },
  { name: 'an array with a NULL element in the result', query: 'SELECT [1, NULL] AS v', message: 'Array cannot have a null element; error in writing field v', doc: 'data-types#array_nulls' },
  { name: 'SUBSTR with a negative length', query: "SELECT SUBSTR('apple', 1, -1) AS v", message: /cannot be negative/, doc: 'string_functions#substr' },
  { name: 'REPEAT with a negative count', query: "SELECT REPEAT('a', -1) AS v", message: /cannot be negative/, doc: 'string_functions#repeat' },
];

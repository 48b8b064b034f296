/**
 * DuckDB error text → BigQuery error.
 *
 * A client of the endpoint must see what BigQuery would say, never the
 * engine underneath: no "Binder Error", no "LINE 1: …" excerpt of the
 * translated SQL, no DuckDB type or function names (BIGINT, VARCHAR,
 * TRY_CAST, list_extract, …). Known engine messages are rewritten to
 * BigQuery's wording; anything else gets a generic BigQuery-shaped message
 * that names the error class in BigQuery's terms only.
 */
import { BigQueryApiError, ENGINE_ERROR_MARKER, invalidQuery } from './errors.js';

/** DuckDB type names as BigQuery spells them (longest first so `TIMESTAMP WITH TIME ZONE` wins over `TIMESTAMP`). */
const TYPE_NAMES: [RegExp, string][] = [
  [/\bTIMESTAMP WITH TIME ZONE\b|\bTIMESTAMPTZ\b/g, 'TIMESTAMP'],
  [/\bDECIMAL\(38,\s*9\)/g, 'NUMERIC'],
  [/\bDECIMAL\(\d+,\s*\d+\)/g, 'BIGNUMERIC'],
  [/\b(HUGEINT|BIGINT|INTEGER|INT32|INT64|SMALLINT|TINYINT|UBIGINT|UINTEGER|INTEGER_LITERAL)\b/g, 'INT64'],
  [/\b(DOUBLE|FLOAT)\b/g, 'FLOAT64'],
  [/\b(VARCHAR|STRING_LITERAL)\b/g, 'STRING'],
  [/\bBLOB\b/g, 'BYTES'],
  [/\bBOOLEAN\b/g, 'BOOL'],
];

/** BigQuery's name for a DuckDB cast target in "Bad <type> value" messages. */
function badValueType(duckType: string): string {
  const t = duckType.toUpperCase();
  if (/INT/.test(t)) return 'int64';
  if (/DOUBLE|FLOAT/.test(t)) return 'double';
  if (/BOOL/.test(t)) return 'bool';
  return t.toLowerCase();
}

/** Rewrites the type names of an engine message into BigQuery's. */
function bigQueryTypes(text: string): string {
  let out = text;
  for (const [re, name] of TYPE_NAMES) out = out.replace(re, name);
  return out;
}

/**
 * Maps one DuckDB error message onto the {@link BigQueryApiError} BigQuery
 * would answer for the same query.
 */
export function fromEngineError(raw: string): BigQueryApiError {
  // Our own runtime checks (sql/checks.ts) already carry BigQuery's message.
  // Only at the head of the message: a bind error may quote the translated SQL, marker included.
  const head = /^[A-Za-z ]*Error: (.*)/.exec(raw)?.[1] ?? raw;
  if (head.startsWith(ENGINE_ERROR_MARKER)) return invalidQuery(head.slice(ENGINE_ERROR_MARKER.length).split('\n')[0] as string);

  // "Out of Range Error: Overflow in addition of INT64 (9223372036854775807 + 1)!"
  const overflow = /Overflow in (?:addition|subtraction|multiplication) of \w+ \((.+) ([-+*]) (.+)\)!?/.exec(raw);
  if (overflow) return invalidQuery(`int64 overflow: ${overflow[1]} ${overflow[2]} ${overflow[3]}`);
  if (/Overflow in negation/.test(raw)) return invalidQuery('int64 overflow: -(-9223372036854775808)');
  if (/Out of Range Error:.*(out of range|overflow)/i.test(raw) && /INT|integer/i.test(raw)) return invalidQuery('int64 overflow');

  // "Conversion Error: Could not convert string 'x' to INT64"
  const badString = /Could not convert string ['"](.*)['"] to (\w+)/.exec(raw);
  if (badString) {
    const target = badString[2] as string;
    if (/DECIMAL/i.test(target)) return invalidQuery(`Invalid NUMERIC value: ${badString[1]}`);
    return invalidQuery(`Bad ${badValueType(target)} value: ${badString[1]}`);
  }
  const badDate = /(?:invalid date field format|date field value out of range): "(.*?)"/.exec(raw);
  if (badDate) return invalidQuery(`Invalid date: '${badDate[1]}'`);
  const badTimestamp = /(?:invalid timestamp field format|timestamp field value out of range): "(.*?)"/.exec(raw);
  if (badTimestamp) return invalidQuery(`Invalid timestamp: '${badTimestamp[1]}'`);
  const badTime = /time field value out of range: "(.*?)"/.exec(raw);
  if (badTime) return invalidQuery(`Invalid time string "${badTime[1]}"`);
  if (/Failure in decode/.test(raw)) return invalidQuery('Invalid cast from BYTES to STRING: the value is not valid UTF-8');
  if (/Could not convert|Conversion Error/i.test(raw)) return invalidQuery('Invalid cast: the value cannot be converted to the target type');

  if (/cannot take logarithm of (zero|a negative number)/.test(raw)) return invalidQuery('Floating point error in function: LN or LOG of a number that is not positive');
  if (/cannot take square root of a negative number/.test(raw)) return invalidQuery('Argument to SQRT cannot be negative');

  // Binder errors: names and signatures.
  const column = /Referenced column "([^"]+)" (?:was )?not found/.exec(raw);
  if (column) return invalidQuery(`Unrecognized name: ${column[1]}`);
  const table = /Referenced table "([^"]+)" not found/.exec(raw);
  if (table) return invalidQuery(`Unrecognized name: ${table[1]}`);
  if (/No function matches|Could not choose a best candidate|Cannot compare values|Cannot mix values|cannot be implicitly cast|No operator matches/i.test(raw)) {
    return invalidQuery('No matching signature for an operator or function: the argument types do not match');
  }
  if (/must appear in the GROUP BY clause|must be part of an aggregate/i.test(raw)) {
    return invalidQuery('SELECT list expression references a column which is neither grouped nor aggregated');
  }
  if (/aggregate function calls cannot be nested/i.test(raw)) return invalidQuery('Aggregations of aggregations are not allowed');
  if (/Ambiguous reference/i.test(raw)) return invalidQuery('Column name is ambiguous');
  if (/Parser Error/i.test(raw)) {
    const near = /syntax error at or near "([^"]*)"/.exec(raw);
    return invalidQuery(near ? `Syntax error: Unexpected "${bigQueryTypes(near[1] as string)}"` : 'Syntax error: Unexpected end of script');
  }
  if (/Constraint Error/i.test(raw)) return invalidQuery('Query error: a value violates a column constraint (e.g. NULL in a REQUIRED column)');
  if (/Out of Memory/i.test(raw)) return invalidQuery('Resources exceeded during query execution: The query could not be executed in the allotted memory.');
  if (/^(INTERNAL|FATAL) Error/i.test(raw)) return new BigQueryApiError(500, 'backendError', 'An internal error occurred and the request could not be completed.');
  if (/Out of Range Error/i.test(raw)) return invalidQuery('Query error: a value is out of range for its type');
  if (/Invalid Input Error/i.test(raw)) return invalidQuery('Query error: invalid input to a function or operator');
  return invalidQuery('Query error: the query is not valid for its argument types');
}

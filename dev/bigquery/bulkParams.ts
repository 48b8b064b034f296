/**
 * Fast binding of large `ARRAY<STRUCT<scalar…>>` parameters — the shape of a
 * pipeline load (`INSERT … SELECT … FROM UNNEST(@rows) AS r`).
 *
 * Binding such an array as a DuckDB LIST of STRUCT values goes through one
 * native value per field (seconds for 10k rows). Instead, the array is sent
 * to DuckDB as one JSON text parameter and the placeholder `$n` becomes
 * `CAST(from_json($n, '<structure>') AS STRUCT(…)[])`, so DuckDB parses and
 * casts it natively. The fast path is taken only when every value passes a
 * strict format check for its type (the same text BigQuery accepts); any
 * other value makes the caller fall back to the ordinary binding, so errors
 * and edge cases (NaN, >9 NUMERIC decimals, time zone names…) keep their
 * exact behaviour.
 */
import type { ParamType, ParamValue } from './values.js';

/** Smallest array worth the JSON path. */
const MIN_ELEMENTS = 256;

/** BigQuery scalar type → DuckDB type and the value format accepted on the fast path. */
const SCALARS: Record<string, { duck: string; re?: RegExp }> = {
  STRING: { duck: 'VARCHAR' },
  INT64: { duck: 'BIGINT', re: /^-?\d{1,18}$/ },
  INTEGER: { duck: 'BIGINT', re: /^-?\d{1,18}$/ },
  FLOAT64: { duck: 'DOUBLE', re: /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/ },
  FLOAT: { duck: 'DOUBLE', re: /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/ },
  NUMERIC: { duck: 'DECIMAL(38,9)', re: /^-?\d{1,29}(\.\d{1,9})?$/ },
  BIGNUMERIC: { duck: 'DECIMAL(38,18)', re: /^-?\d{1,20}(\.\d{1,18})?$/ },
  BOOL: { duck: 'BOOLEAN', re: /^(true|false)$/ },
  BOOLEAN: { duck: 'BOOLEAN', re: /^(true|false)$/ },
  DATE: { duck: 'DATE', re: /^\d{4}-\d{2}-\d{2}$/ },
  DATETIME: { duck: 'TIMESTAMP', re: /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?$/ },
  TIMESTAMP: { duck: 'TIMESTAMPTZ', re: /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?$/ },
  TIME: { duck: 'TIME', re: /^\d{2}:\d{2}:\d{2}(\.\d{1,6})?$/ },
};

/** A parameter bound as JSON text, and the SQL that replaces its placeholder. */
export interface JsonParam {
  json: string;
  /** SQL for the placeholder `$n` (`n` filled in by {@link placeholderSql}). */
  placeholderSql: (n: number) => string;
}

function quoteDuckIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The JSON form of a large ARRAY<STRUCT<scalar…>> parameter, or `undefined`
 * when the parameter is not that shape or any value needs the ordinary path.
 */
export function jsonArrayParam(type: ParamType, value: ParamValue | undefined): JsonParam | undefined {
  if (type.type?.toUpperCase() !== 'ARRAY' || type.arrayType?.type?.toUpperCase() !== 'STRUCT') return undefined;
  const items = value?.arrayValues;
  if (!items || items.length < MIN_ELEMENTS) return undefined;
  const fields = type.arrayType.structTypes ?? [];
  if (fields.length === 0) return undefined;
  const specs: { name: string; duck: string; re: RegExp | undefined }[] = [];
  const seen = new Set<string>();
  for (const f of fields) {
    const scalar = SCALARS[f.type.type?.toUpperCase() ?? ''];
    if (!f.name || !scalar || seen.has(f.name.toLowerCase())) return undefined;
    seen.add(f.name.toLowerCase());
    specs.push({ name: f.name, duck: scalar.duck, re: scalar.re });
  }
  const rows: Record<string, unknown>[] = new Array<Record<string, unknown>>(items.length);
  for (let i = 0; i < items.length; i++) {
    const sv = items[i]?.structValues;
    if (!sv) return undefined;
    const row: Record<string, unknown> = {};
    for (const s of specs) {
      const v = sv[s.name]?.value;
      if (v === null || v === undefined) {
        row[s.name] = null;
        continue;
      }
      const text = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
      if (text === undefined || (s.re && !s.re.test(text))) return undefined;
      row[s.name] = text;
    }
    rows[i] = row;
  }
  const structure = JSON.stringify([Object.fromEntries(specs.map((s) => [s.name, 'VARCHAR']))]).replace(/'/g, "''");
  const structType = `STRUCT(${specs.map((s) => `${quoteDuckIdent(s.name)} ${s.duck}`).join(', ')})[]`;
  return {
    json: JSON.stringify(rows),
    // Parsed as text first, then cast: DuckDB's casts from text are the conversions BigQuery's formats need.
    placeholderSql: (n) => `CAST(from_json($${n}, '${structure}') AS ${structType})`,
  };
}

/**
 * Replaces the placeholders `$n` (for the given `n`) in DuckDB SQL produced by
 * the translator, skipping quoted strings and identifiers.
 */
export function replacePlaceholders(sql: string, replacements: Map<number, string>): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (c === "'" || c === '"') {
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) break;
        if (sql[j] === c) {
          if (sql[j + 1] === c) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '$') {
      const m = /^\$(\d+)/.exec(sql.slice(i, i + 12));
      if (m) {
        const n = Number(m[1]);
        out += replacements.get(n) ?? m[0];
        i += m[0].length;
        continue;
      }
    }
    out += c;
    i++;
  }
  return out;
}

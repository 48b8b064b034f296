/**
 * BigQuery ⇄ DuckDB type mapping, shared by table DDL, insertAll binding,
 * query parameters, CAST translation and result schemas.
 *
 * | BigQuery            | DuckDB                       |
 * |---------------------|------------------------------|
 * | STRING              | VARCHAR                      |
 * | INT64 / INTEGER     | BIGINT                       |
 * | FLOAT64 / FLOAT     | DOUBLE                       |
 * | NUMERIC             | DECIMAL(38,9)                |
 * | BIGNUMERIC          | DECIMAL(38,18) (see README)  |
 * | BOOL / BOOLEAN      | BOOLEAN                      |
 * | BYTES               | BLOB                         |
 * | DATE                | DATE                         |
 * | DATETIME            | TIMESTAMP                    |
 * | TIMESTAMP           | TIMESTAMPTZ (session is UTC) |
 * | TIME                | TIME                         |
 * | JSON                | JSON                         |
 * | GEOGRAPHY           | VARCHAR (WKT text, no GIS)   |
 * | RECORD / STRUCT     | STRUCT(...)                  |
 * | mode REPEATED       | LIST (`T[]`)                 |
 */
import {
  BIGINT,
  BLOB,
  BOOLEAN,
  DATE,
  DECIMAL,
  DOUBLE,
  DuckDBTypeId,
  DuckDBVarCharType,
  INTERVAL,
  LIST,
  STRUCT,
  TIME,
  TIMESTAMP,
  TIMESTAMPTZ,
  VARCHAR,
} from '@duckdb/node-api';
import type { DuckDBType } from '@duckdb/node-api';
import { invalid, invalidQuery } from './errors.js';

/** A field of a BigQuery table or result schema (`TableFieldSchema`). */
export interface BqField {
  name: string;
  type: string;
  mode?: string;
  fields?: BqField[];
  description?: string;
  [extra: string]: unknown;
}

/** A BigQuery `TableSchema`. */
export interface BqSchema {
  fields: BqField[];
}

/** Width/scale used for NUMERIC. */
export const NUMERIC_SCALE = 9;
/** Scale used for BIGNUMERIC columns: DuckDB caps decimals at 38 digits, so BIGNUMERIC keeps 20 integer + 18 fractional digits. */
export const BIGNUMERIC_SCALE = 18;

/**
 * Canonical (legacy-style) type name as the REST API reports it in schemas:
 * INT64 → INTEGER, FLOAT64 → FLOAT, BOOL → BOOLEAN, STRUCT → RECORD.
 */
export function canonicalType(type: string): string {
  const t = type.toUpperCase();
  switch (t) {
    case 'INT64':
      return 'INTEGER';
    case 'FLOAT64':
      return 'FLOAT';
    case 'BOOL':
      return 'BOOLEAN';
    case 'STRUCT':
      return 'RECORD';
    case 'BIGDECIMAL':
      return 'BIGNUMERIC';
    case 'DECIMAL':
      return 'NUMERIC';
    default:
      return t;
  }
}

const KNOWN_TYPES = new Set([
  'STRING',
  'INTEGER',
  'FLOAT',
  'NUMERIC',
  'BIGNUMERIC',
  'BOOLEAN',
  'BYTES',
  'DATE',
  'DATETIME',
  'TIMESTAMP',
  'TIME',
  'JSON',
  'GEOGRAPHY',
  'RECORD',
  'INTERVAL',
]);

/** Validates and canonicalises a table schema (types, modes, names, nesting). */
export function normalizeSchema(schema: BqSchema | undefined, where = 'schema'): BqSchema {
  if (!schema || !Array.isArray(schema.fields)) return { fields: [] };
  return { fields: normalizeFields(schema.fields, where) };
}

function normalizeFields(fields: BqField[], where: string): BqField[] {
  const seen = new Set<string>();
  return fields.map((f) => {
    if (!f || typeof f.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,299}$/.test(f.name)) {
      throw invalid(`Invalid field name "${String(f?.name)}". Fields must contain only letters, numbers, and underscores, start with a letter or underscore, and be at most 300 characters long.`, where);
    }
    const lower = f.name.toLowerCase();
    if (seen.has(lower)) throw invalid(`Field ${f.name} already exists in schema`, where);
    seen.add(lower);
    const type = canonicalType(String(f.type ?? (f.fields ? 'RECORD' : 'STRING')));
    if (!KNOWN_TYPES.has(type)) throw invalid(`Invalid value for type: ${String(f.type)} is not a valid value`, `${where}.${f.name}`);
    const mode = String(f.mode ?? 'NULLABLE').toUpperCase();
    if (!['NULLABLE', 'REQUIRED', 'REPEATED'].includes(mode)) throw invalid(`Invalid value for mode: ${String(f.mode)} is not a valid value`, `${where}.${f.name}`);
    const out: BqField = { ...f, name: f.name, type, mode };
    if (type === 'RECORD') {
      if (!Array.isArray(f.fields) || f.fields.length === 0) throw invalid(`Field ${f.name} is type RECORD but has no schema`, `${where}.${f.name}`);
      out.fields = normalizeFields(f.fields, `${where}.${f.name}`);
    } else {
      delete out.fields;
    }
    return out;
  });
}

/** Double-quotes a DuckDB identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** BigQuery types whose DuckDB type has no parameters, shared by table DDL and SQL casts. */
const SIMPLE_DUCK_TYPES: Readonly<Record<string, string>> = {
  BOOLEAN: 'BOOLEAN',
  BYTES: 'BLOB',
  DATE: 'DATE',
  DATETIME: 'TIMESTAMP',
  TIMESTAMP: 'TIMESTAMPTZ',
  TIME: 'TIME',
  JSON: 'JSON',
  INTERVAL: 'INTERVAL',
};

/** DuckDB DDL type for a scalar BigQuery type name (no mode). */
function scalarDdl(type: string): string {
  switch (canonicalType(type)) {
    case 'STRING':
    case 'GEOGRAPHY':
      return 'VARCHAR';
    case 'INTEGER':
      return 'BIGINT';
    case 'FLOAT':
      return 'DOUBLE';
    case 'NUMERIC':
      return `DECIMAL(38,${NUMERIC_SCALE})`;
    case 'BIGNUMERIC':
      return `DECIMAL(38,${BIGNUMERIC_SCALE})`;
    default: {
      const simple = SIMPLE_DUCK_TYPES[canonicalType(type)];
      if (simple === undefined) throw invalid(`Unsupported field type ${type}`);
      return simple;
    }
  }
}

/** DuckDB column type DDL for a BigQuery field, including RECORD and REPEATED. */
export function fieldDdl(field: BqField): string {
  const base =
    canonicalType(field.type) === 'RECORD'
      ? `STRUCT(${(field.fields ?? []).map((f) => `${quoteIdent(f.name)} ${fieldDdl(f)}`).join(', ')})`
      : scalarDdl(field.type);
  return field.mode === 'REPEATED' ? `${base}[]` : base;
}

/** node-api type object for binding values of a BigQuery field. */
export function fieldDuckType(field: BqField): DuckDBType {
  let base: DuckDBType;
  switch (canonicalType(field.type)) {
    case 'RECORD': {
      const entries: Record<string, DuckDBType> = {};
      for (const f of field.fields ?? []) entries[f.name] = fieldDuckType(f);
      base = STRUCT(entries);
      break;
    }
    case 'STRING':
    case 'GEOGRAPHY':
      base = VARCHAR;
      break;
    case 'INTEGER':
      base = BIGINT;
      break;
    case 'FLOAT':
      base = DOUBLE;
      break;
    case 'NUMERIC':
      base = DECIMAL(38, NUMERIC_SCALE);
      break;
    case 'BIGNUMERIC':
      base = DECIMAL(38, BIGNUMERIC_SCALE);
      break;
    case 'BOOLEAN':
      base = BOOLEAN;
      break;
    case 'BYTES':
      base = BLOB;
      break;
    case 'DATE':
      base = DATE;
      break;
    case 'DATETIME':
      base = TIMESTAMP;
      break;
    case 'TIMESTAMP':
      base = TIMESTAMPTZ;
      break;
    case 'TIME':
      base = TIME;
      break;
    case 'JSON':
      base = new DuckDBVarCharType('JSON');
      break;
    case 'INTERVAL':
      base = INTERVAL;
      break;
    default:
      throw invalid(`Unsupported field type ${field.type}`);
  }
  return field.mode === 'REPEATED' ? LIST(base) : base;
}

/**
 * The BigQuery result field for a DuckDB result column. Used for query
 * results, whose schema BigQuery derives from the expression types.
 */
export function duckTypeToBqField(name: string, type: DuckDBType): BqField {
  switch (type.typeId) {
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const inner = duckTypeToBqField(name, type.valueType);
      if (inner.mode === 'REPEATED') throw invalidQuery(`Cannot return an array of arrays in column ${name}; BigQuery does not support ARRAY<ARRAY<...>>`);
      return { ...inner, mode: 'REPEATED' };
    }
    case DuckDBTypeId.STRUCT:
      return {
        name,
        type: 'RECORD',
        mode: 'NULLABLE',
        fields: type.entryNames.map((entry, i) => duckTypeToBqField(entry, type.entryTypes[i] as DuckDBType)),
      };
    default:
      return { name, type: scalarBqTypeForDuck(type, name), mode: 'NULLABLE' };
  }
}

function scalarBqTypeForDuck(type: DuckDBType, column: string): string {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return 'BOOLEAN';
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.SQLNULL:
    case DuckDBTypeId.INTEGER_LITERAL:
      return 'INTEGER';
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return 'FLOAT';
    case DuckDBTypeId.DECIMAL:
      // NUMERIC can only hold 9 fractional digits; anything finer is BIGNUMERIC.
      return type.scale > NUMERIC_SCALE ? 'BIGNUMERIC' : 'NUMERIC';
    case DuckDBTypeId.VARCHAR:
      return type.alias === 'JSON' ? 'JSON' : 'STRING';
    case DuckDBTypeId.STRING_LITERAL:
    case DuckDBTypeId.UUID:
    case DuckDBTypeId.ENUM:
      return 'STRING';
    case DuckDBTypeId.BLOB:
      return 'BYTES';
    case DuckDBTypeId.DATE:
      return 'DATE';
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return 'DATETIME';
    case DuckDBTypeId.TIMESTAMP_TZ:
      return 'TIMESTAMP';
    case DuckDBTypeId.TIME:
      return 'TIME';
    case DuckDBTypeId.INTERVAL:
      return 'INTERVAL';
    default:
      throw invalidQuery(`Unsupported by the local BigQuery endpoint: result column ${column} has DuckDB type ${type.toString()}`);
  }
}

/**
 * DuckDB type DDL for a GoogleSQL type name as written in CAST or typed
 * constructors (already parsed into a type tree by the translator).
 */
export interface SqlTypeNode {
  name: string;
  /** ARRAY element type. */
  element?: SqlTypeNode;
  /** STRUCT fields. */
  fields?: { name: string | undefined; type: SqlTypeNode }[];
  /** NUMERIC(p, s) parameters. */
  params?: number[];
}

/** DuckDB DDL for a parsed GoogleSQL type. */
export function sqlTypeToDuckDdl(t: SqlTypeNode): string {
  const name = t.name.toUpperCase();
  switch (name) {
    case 'ARRAY':
      if (!t.element) throw invalidQuery('ARRAY type requires an element type');
      if (t.element.name.toUpperCase() === 'ARRAY') throw invalidQuery('Arrays of arrays are not supported');
      return `${sqlTypeToDuckDdl(t.element)}[]`;
    case 'STRUCT':
      return `STRUCT(${(t.fields ?? []).map((f, i) => `${quoteIdent(f.name ?? `_field_${i + 1}`)} ${sqlTypeToDuckDdl(f.type)}`).join(', ')})`;
    case 'INT64':
    case 'INT':
    case 'INTEGER':
    case 'SMALLINT':
    case 'BIGINT':
    case 'TINYINT':
    case 'BYTEINT':
      return 'BIGINT';
    case 'FLOAT64':
    case 'FLOAT':
      return 'DOUBLE';
    case 'NUMERIC':
    case 'DECIMAL':
      if (t.params && t.params.length > 0) return `DECIMAL(${t.params[0]},${t.params[1] ?? 0})`;
      return `DECIMAL(38,${NUMERIC_SCALE})`;
    case 'BIGNUMERIC':
    case 'BIGDECIMAL':
      return `DECIMAL(38,${BIGNUMERIC_SCALE})`;
    case 'STRING':
      return 'VARCHAR';
    case 'BOOL':
      return 'BOOLEAN';
    default: {
      const simple = SIMPLE_DUCK_TYPES[name];
      if (simple === undefined) throw invalidQuery(`Unsupported by the local BigQuery endpoint: type ${t.name}`);
      return simple;
    }
  }
}

/**
 * Splits the text of a CSV load into records the way BigQuery's CSV reader
 * does (`CsvOptions` / `JobConfigurationLoad`, https://cloud.google.com/bigquery/docs/loading-data-cloud-storage-csv
 * and the REST reference of `JobConfigurationLoad`):
 *
 * - `fieldDelimiter` is one character (default `,`); `\t` and `tab` name a tab;
 * - `quote` is one character (default `"`), doubled inside a quoted section to
 *   stand for itself; an empty `quote` turns quoting off;
 * - a newline inside a quoted section is only data when `allowQuotedNewlines`
 *   is set; otherwise the record ends at the line and its quote is unclosed,
 *   which makes it a bad record;
 * - records end at `\n` or `\r\n`; blank lines are not records.
 *
 * Each record carries the character offset it starts at, which BigQuery's
 * error messages quote ("row starting at position N").
 */

/** The CSV options a load job reads. */
export interface CsvDialect {
  fieldDelimiter: string;
  /** Empty: no quoting. */
  quote: string;
  allowQuotedNewlines: boolean;
}

/** One CSV record: its fields, whether each was quoted, and where it starts. */
export interface CsvRecord {
  fields: string[];
  quoted: boolean[];
  offset: number;
}

/** A record that could not be split (an unclosed quote, data after a closing quote). */
export interface CsvRecordError {
  error: string;
  offset: number;
}

/**
 * The dialect of a load configuration, validated.
 *
 * @throws Error with BigQuery's message for a delimiter or quote longer than one character.
 */
export function csvDialect(cfg: { fieldDelimiter?: string; quote?: string; allowQuotedNewlines?: boolean }): CsvDialect {
  let fieldDelimiter = cfg.fieldDelimiter ?? ',';
  if (fieldDelimiter === '\\t' || fieldDelimiter.toLowerCase() === 'tab') fieldDelimiter = '\t';
  if ([...fieldDelimiter].length !== 1) throw new Error(`Field delimiter must be a single character: ${JSON.stringify(cfg.fieldDelimiter)}`);
  const quote = cfg.quote ?? '"';
  if ([...quote].length > 1) throw new Error(`Quote must be a single character or empty: ${JSON.stringify(cfg.quote)}`);
  return { fieldDelimiter, quote, allowQuotedNewlines: cfg.allowQuotedNewlines === true };
}

/** Yields the records of `text` in order; a record that cannot be split is yielded as a {@link CsvRecordError}. */
export function* csvRecords(text: string, dialect: CsvDialect): Generator<CsvRecord | CsvRecordError> {
  const { fieldDelimiter: delim, quote, allowQuotedNewlines } = dialect;
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    const offset = pos;
    if (text[pos] === '\n' || (text[pos] === '\r' && text[pos + 1] === '\n')) {
      pos += text[pos] === '\r' ? 2 : 1;
      continue;
    }
    const fields: string[] = [];
    const quoted: boolean[] = [];
    let error: string | undefined;
    for (;;) {
      // One field starting at `pos`.
      if (quote !== '' && text[pos] === quote) {
        let value = '';
        let i = pos + 1;
        let closed = false;
        while (i < n) {
          const c = text[i] as string;
          if (c === quote) {
            if (text[i + 1] === quote) {
              value += quote;
              i += 2;
              continue;
            }
            closed = true;
            i++;
            break;
          }
          if ((c === '\n' || c === '\r') && !allowQuotedNewlines) break;
          value += c;
          i++;
        }
        if (!closed) {
          error = `Missing close double quote (${quote}) character.`;
          pos = i;
          break;
        }
        fields.push(value);
        quoted.push(true);
        pos = i;
        if (pos < n && text[pos] !== delim && text[pos] !== '\n' && text[pos] !== '\r') {
          error = `Data between close double quote (${quote}) and field separator.`;
          break;
        }
      } else {
        let i = pos;
        while (i < n && text[i] !== delim && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) i++;
        fields.push(text.slice(pos, i));
        quoted.push(false);
        pos = i;
      }
      if (pos < n && text[pos] === delim) {
        pos++;
        continue;
      }
      break;
    }
    if (error !== undefined) {
      // Resume at the next line, as BigQuery's reader does after a bad record.
      while (pos < n && text[pos] !== '\n') pos++;
      pos++;
      yield { error, offset };
      continue;
    }
    if (text[pos] === '\r') pos++;
    if (text[pos] === '\n') pos++;
    yield { fields, quoted, offset };
  }
}

/** Narrows a yielded item to the error case. */
export function isCsvRecordError(r: CsvRecord | CsvRecordError): r is CsvRecordError {
  return 'error' in r;
}

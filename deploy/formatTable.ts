/** One column of a {@link formatTable} table. */
export interface Column<Row> {
  header: string;
  /** The cell's text; `null` or `undefined` prints as an empty cell, as psql prints NULL. */
  value: (row: Row) => string | number | null | undefined;
  /** Numbers are right-aligned like psql's; anything else left-aligned. @default 'left' */
  align?: 'left' | 'right';
}

/**
 * Renders rows the way `psql` aligns a result: centred headers, ` | ` between columns,
 * a `-+-` rule, numbers right-aligned, and a `(N rows)` footer.
 */
export function formatTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[]): string {
  const cells = rows.map((row) => columns.map((column) => String(column.value(row) ?? '')));
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const header = columns.map((column, i) => centre(column.header, widths[i] ?? 0)).join(' | ');
  const rule = widths.map((width) => '-'.repeat(width + 2)).join('+');
  const body = cells.map((row) =>
    row.map((cell, i) => (columns[i]?.align === 'right' ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join(' | '),
  );
  const footer = `(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})`;
  // psql starts each line with a space (the rule with a dash) and leaves no trailing blanks.
  const indent = (line: string): string => ` ${line}`.trimEnd();
  return [indent(header), rule, ...body.map(indent), footer].join('\n');
}

function centre(text: string, width: number): string {
  const left = Math.floor((width - text.length) / 2);
  return ' '.repeat(left) + text.padEnd(width - left);
}

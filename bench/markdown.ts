// The one markdown table renderer of the benchmark reports (bench/report.ts, bench/flash-report.ts,
// bench/web-seat-map.ts): a header row, an alignment row, one row per entry.

/** A column: its header, left-aligned (`---`), or `right(header)` for numbers (`---:`). */
export type Column = string | { header: string; align: 'right' };

export const right = (header: string): Column => ({ header, align: 'right' });

/** `count` cells of '–': the figures of a row that has none. */
export const dashes = (count: number) => Array<string>(count).fill('–');

/**
 * The lines of a markdown table. Cells are written as given (pass free text through the
 * caller's escaping first: a `|` or a line break in a cell breaks the table). Every row has
 * exactly one cell per column: a row of another length is a programmer error and throws.
 */
export function markdownTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string[] {
  const headers = columns.map((column) => (typeof column === 'string' ? column : column.header));
  const rules = columns.map((column) => (typeof column === 'string' ? '---' : '---:'));
  for (const row of rows) {
    if (row.length !== columns.length)
      throw new Error(`a table row has ${row.length} cells for ${columns.length} columns: | ${row.join(' | ')} |`);
  }
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), `|${rules.join('|')}|`, ...rows.map(line)];
}

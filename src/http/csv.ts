// CSV as RFC 4180 writes it (comma-separated, CRLF line ends, a field with a comma, quote or
// line break quoted, quotes doubled), made safe to open in a spreadsheet: a text field that
// starts with = + - @ (or a tab or carriage return) would run as a formula there, so it is
// prefixed with ' (OWASP's advice on CSV injection). Numbers are written as numbers.

const formulaStart = /^[=+\-@\t\r]/;
const needsQuotes = /[",\r\n]/;

export function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const safe = formulaStart.test(value) ? `'${value}` : value;
  return needsQuotes.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function csvLine(values: (string | number | null)[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

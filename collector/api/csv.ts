/**
 * CSV as spreadsheets read it (RFC 4180): comma-separated, CRLF line ends, fields quoted when they hold a comma, a
 * quote or a line break. A text cell that starts like a formula (= + - @, tab, carriage return) gets a leading
 * apostrophe, so a lead who typed `=HYPERLINK(…)` as a company name cannot run anything in the reader's spreadsheet.
 * A cell holding a semicolon is quoted too: Excel in French, German and other locales splits a CSV on semicolons,
 * and `x;=cmd|…` unquoted became a cell of its own that starts with `=`.
 */
export type CsvCell = string | number | boolean | null | undefined;

function cell(value: CsvCell): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'string') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",;\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The file, after a UTF-8 byte-order mark: without it, Excel opens a CSV in the machine's legacy code page, and
 * "Zoë Müller" or "Directrice Générale" come out garbled. Other readers skip the mark.
 */
export function toCsv(header: string[], records: CsvCell[][]): string {
  return '\uFEFF' + [header, ...records].map((record) => record.map(cell).join(',')).join('\r\n') + '\r\n';
}

/**
 * CSV as spreadsheets read it (RFC 4180): comma-separated, CRLF line ends, fields quoted when they hold a comma, a
 * quote or a line break. A text cell that starts like a formula (= + - @, tab, carriage return) gets a leading
 * apostrophe, so a lead who typed `=HYPERLINK(…)` as a company name cannot run anything in the reader's spreadsheet.
 *
 * Excel in French, German and other locales, and LibreOffice when told to, split a CSV on semicolons instead, and
 * there the quotes of a cell that is not first on its line are ordinary characters: every semicolon starts a new
 * cell, inside a quoted one too (`a,"Acme;=1+1"` is the cells `a,"Acme` and `=1+1`). So what follows a semicolon
 * gets the apostrophe as well when it starts like a formula, spaces before it included: `Acme;'=1+1`. There a line
 * break ends the row, inside quotes too, so what follows one (a textarea's answer) gets it as well.
 */
export type CsvCell = string | number | boolean | null | undefined;

/**
 * Where a spreadsheet's cell starts (the value's start, after a semicolon, or after a line break, which ends a row
 * where quotes do not keep a cell whole) with what reads as a formula, spaces before it included.
 */
const FORMULA = /(^|[;\r\n])(?=[^\S\t\r\n]*[=+\-@\t\r])/g;

function cell(value: CsvCell): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'string') return String(value);
  const text = value.replace(FORMULA, "$1'");
  return /[",;\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The file, after a UTF-8 byte-order mark: without it, Excel opens a CSV in the machine's legacy code page, and
 * "Zoë Müller" or "Directrice Générale" come out garbled. Other readers skip the mark.
 */
export function toCsv(header: string[], records: CsvCell[][]): string {
  return [...csvChunks(header, records, (record) => record)].join('');
}

/** Records written to the reply at once (csvChunks): about 20 ms of the event loop each, beacons answered between two. */
const CHUNK_RECORDS = 1000;

/**
 * The same file as toCsv, made a chunk of records at a time as the reply is read (a Readable of it is sent): a
 * 100,000-lead export held the event loop 1.8 s in one piece, and its whole text in memory, while beacons waited.
 */
export function* csvChunks<T>(header: string[], items: readonly T[], recordOf: (item: T) => CsvCell[]): Generator<string> {
  yield '\uFEFF' + header.map(cell).join(',') + '\r\n';
  for (let start = 0; start < items.length; start += CHUNK_RECORDS) {
    yield items
      .slice(start, start + CHUNK_RECORDS)
      .map((item) => recordOf(item).map(cell).join(',') + '\r\n')
      .join('');
  }
}

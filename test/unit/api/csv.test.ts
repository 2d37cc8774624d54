import { describe, expect, it } from 'vitest';
import { toCsv } from '../../../collector/api/csv.ts';

/**
 * The cells a spreadsheet reads when it splits lines on `sep`, with RFC 4180 quotes only where a cell starts with one
 * (as Excel and LibreOffice do); split on semicolons, every line break ends a row, inside quotes too.
 */
function readAs(csv: string, sep: ',' | ';'): string[][] {
  return csv
    .replace(/^\uFEFF/, '')
    .split(sep === ';' ? /\r\n|\r|\n/ : '\r\n')
    .filter(Boolean)
    .map((line) => {
      const cells: string[] = [];
      for (let at = 0; at <= line.length; ) {
        if (line[at] === '"') {
          let text = '';
          for (at++; at < line.length; at++) {
            if (line[at] === '"' && line[at + 1] === '"') (text += '"'), at++;
            else if (line[at] === '"') break;
            else text += line[at];
          }
          // After the closing quote, up to the separator (nothing, in a well-formed cell).
          const end = line.indexOf(sep, at);
          cells.push(text + line.slice(at + 1, end < 0 ? line.length : end));
          at = end < 0 ? line.length + 1 : end + 1;
        } else {
          const end = line.indexOf(sep, at);
          cells.push(line.slice(at, end < 0 ? line.length : end));
          at = end < 0 ? line.length + 1 : end + 1;
        }
      }
      return cells;
    });
}

const startsLikeFormula = (cell: string) => /^[^\S\t\r]*[=+\-@\t\r]/.test(cell);

describe('CSV exports', () => {
  const typed = ['Acme;=1+1;', 'CTO;=HYPERLINK("http://evil.test");', 'news; =2+3', 'x;@SUM(A1)', ' =1+2', '\u00a0+1', 'Zoë; Müller', '=cmd|x'];
  const csv = toCsv(['id', 'value', 'note'], typed.map((value, n) => [`l_${n}`, value, 'ok']));

  it('reads back, comma-separated, as each value, with an apostrophe before what starts like a formula', () => {
    expect(readAs(csv, ',').slice(1).map((row) => row[1])).toEqual([
      "Acme;'=1+1;",
      'CTO;\'=HYPERLINK("http://evil.test");',
      "news;' =2+3",
      "x;'@SUM(A1)",
      "' =1+2",
      "'\u00a0+1",
      'Zoë; Müller',
      "'=cmd|x",
    ]);
  });

  it('holds no cell that starts like a formula when a spreadsheet splits it on semicolons, as Excel does in many locales', () => {
    const cells = readAs(csv, ';').flat();
    // The semicolons did split the lines: the values' parts are cells of their own.
    expect(cells).toContain("'=1+1");
    expect(cells.filter(startsLikeFormula)).toEqual([]);
  });

  it('defuses what follows a line break inside a value, which starts a row where a spreadsheet splits on semicolons (QA)', () => {
    // A textarea's answer, or a trait posted to /collect: the line break is kept, and what starts the next line is a cell.
    const broken = ['Globex\n=1+2;', 'CTO\r\n@SUM(4+5);', 'Acme\r=cmd|\' /C calc\'!A0;', 'two\n\n -3', 'line\nbreak'];
    const text = toCsv(['id', 'value'], broken.map((value, n) => [`l_${n}`, value]));
    const cells = readAs(text, ';').flat();
    expect(cells).toContain("'=1+2");
    expect(cells.filter(startsLikeFormula)).toEqual([]);
    // Kept whole, line breaks included, for a reader that honours quotes.
    expect(text).toContain('"Globex\n\'=1+2;"');
    expect(text).toContain('"line\nbreak"');
  });
});

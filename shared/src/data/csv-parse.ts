import { DataError } from '../errors.js';

/**
 * A small RFC 4180 reader: comma-separated fields; a field may be quoted with `"`, and inside
 * quotes commas and line breaks are data and `""` is one quote. Records end at LF or CRLF (a lone
 * CR too). Strict where the RFC is strict (a quote inside an unquoted field, text after a closing
 * quote, an unclosed quote are errors), because a lenient guess silently shifts columns.
 * Blank lines are skipped (they are usually a trailing newline or an editor artefact), and a
 * UTF-8 byte-order mark is ignored.
 */
export interface CsvRecord {
  readonly fields: readonly string[];
  /** 1-based line on which the record starts. */
  readonly line: number;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;

export function* parseCsv(text: string, file: string): Generator<CsvRecord> {
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (i < n) {
    const startLine = line;
    const fields: string[] = [];
    let quotedAny = false;
    for (;;) {
      let field: string;
      if (text.charCodeAt(i) === QUOTE) {
        quotedAny = true;
        const quoteLine = line;
        i++;
        field = '';
        let from = i;
        for (;;) {
          if (i >= n) throw new DataError(file, `line ${quoteLine}: a quoted field is never closed`, { hint: 'add the closing " or double the quotes inside the field ("")' });
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            if (text.charCodeAt(i + 1) === QUOTE) {
              field += text.slice(from, i + 1);
              i += 2;
              from = i;
              continue;
            }
            field += text.slice(from, i);
            i++;
            break;
          }
          if (c === LF || (c === CR && text.charCodeAt(i + 1) !== LF)) line++;
          i++;
        }
        if (i < n) {
          const c = text.charCodeAt(i);
          if (c !== COMMA && c !== CR && c !== LF) {
            throw new DataError(file, `line ${line}, field ${fields.length + 1}: unexpected ${JSON.stringify(text[i])} after a closing quote`, {
              hint: 'a quoted field must end right before a comma or the end of the line; write quotes inside it as ""',
            });
          }
        }
      } else {
        const from = i;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === COMMA || c === LF || c === CR) break;
          if (c === QUOTE) {
            throw new DataError(file, `line ${line}, field ${fields.length + 1}: a quote inside an unquoted field`, {
              hint: 'quote the whole field and double the quotes inside it ("")',
            });
          }
          i++;
        }
        field = text.slice(from, i);
      }
      fields.push(field);
      if (i >= n) break;
      const c = text.charCodeAt(i);
      i++;
      if (c === COMMA) continue;
      if (c === CR && text.charCodeAt(i) === LF) i++;
      line++;
      break;
    }
    if (fields.length === 1 && fields[0] === '' && !quotedAny) continue;
    yield { fields, line: startLine };
  }
}

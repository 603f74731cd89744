import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCsv, loadCsvSplits } from '../../../shared/src/data/csv.js';
import { parseCsv } from '../../../shared/src/data/csv-parse.js';
import { expectDataError, tempDir, type TempDir } from './fixtures.js';

const records = (text: string): Array<{ fields: readonly string[]; line: number }> => [...parseCsv(text, 't.csv')];

describe('RFC 4180 parser', () => {
  it('splits plain records and reports the line each starts on, with LF, CRLF and no final newline', () => {
    expect(records('a,b\n1,2\r\n3,4')).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['1', '2'], line: 2 },
      { fields: ['3', '4'], line: 3 },
    ]);
  });

  it('keeps commas, doubled quotes and line breaks inside quoted fields, and counts the lines they span', () => {
    expect(records('"x, y","say ""hi"""\n"two\nlines",z\nlast,1\n')).toEqual([
      { fields: ['x, y', 'say "hi"'], line: 1 },
      { fields: ['two\nlines', 'z'], line: 2 },
      { fields: ['last', '1'], line: 4 },
    ]);
  });

  it('keeps empty fields (including a trailing one) and skips blank lines', () => {
    expect(records('a,,c,\n\n"",1\n')).toEqual([
      { fields: ['a', '', 'c', ''], line: 1 },
      { fields: ['', '1'], line: 3 },
    ]);
  });

  it('rejects an unclosed quote, a stray quote and text after a closing quote, naming the line', () => {
    expectDataError(() => records('a\n"open,1\n2'), 't.csv', 'line 2', 'never closed');
    expectDataError(() => records('a,b\n1,x"y\n'), 't.csv', 'line 2', 'field 2', 'quote inside an unquoted field');
    expectDataError(() => records('"a"b,c'), 't.csv', 'line 1', 'after a closing quote');
  });
});

describe('CSV loader', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  it('loads features in header order without the label column, scaled when gathered', () => {
    const file = dir.write('d.csv', 'f1,label,f2\n1,0,2\n3.5,2,-4e1\n255,1,0\n');
    const ds = loadCsv(file, { labelColumn: 'label', scale: 0.5 });
    expect(ds.count).toBe(3);
    expect(ds.sampleShape).toEqual([2]);
    expect(ds.classes).toBe(3);
    expect([...ds.labels]).toEqual([0, 2, 1]);
    const out = new Float32Array(6);
    ds.gatherInputs([0, 1, 2], 0, 3, out);
    expect([...out]).toEqual([0.5, 1, 1.75, -20, 127.5, 0]);
  });

  it('accepts quoted numeric cells and quoted header names containing commas', () => {
    const file = dir.write('q.csv', '"width, cm","class"\n"1.5",1\n2,"0"\n');
    const ds = loadCsv(file, { labelColumn: 'class' });
    const out = new Float32Array(2);
    ds.gatherInputs([0, 1], 0, 2, out);
    expect([...out]).toEqual([1.5, 2]);
    expect([...ds.labels]).toEqual([1, 0]);
  });

  it('rejects a non-numeric cell, naming the line, the column and the value', () => {
    const file = dir.write('bad.csv', 'a,b,label\n1,2,0\n3,"four",1\n');
    expectDataError(() => loadCsv(file, { labelColumn: 'label' }), file, 'line 3', 'column "b"', '"four"', 'not a number');
  });

  it('rejects the cells Number() would wrongly accept: empty, hex and Infinity', () => {
    for (const cell of ['', '0x10', 'Infinity']) {
      const file = dir.write('n.csv', `a,label\n${cell},0\n`);
      expectDataError(() => loadCsv(file, { labelColumn: 'label' }), file, 'line 2', 'column "a"', 'not a number');
    }
  });

  it('rejects a row with the wrong number of fields, naming its line', () => {
    const file = dir.write('cols.csv', 'a,b,label\n1,2,0\n1,2\n');
    expectDataError(() => loadCsv(file, { labelColumn: 'label' }), file, 'line 3', '2 fields', 'header has 3');
  });

  it('rejects a missing label column, listing the columns the file has', () => {
    const file = dir.write('nol.csv', 'x,y,target\n1,2,0\n');
    expectDataError(() => loadCsv(file, { labelColumn: 'label' }), file, '"label"', 'x, y, target');
  });

  it('hints that the header row is missing when the first line is numbers', () => {
    const file = dir.write('nohdr.csv', '1,2,0\n3,4,1\n');
    expectDataError(() => loadCsv(file, { labelColumn: 'label' }), file, 'header row');
  });

  it('rejects non-integer and negative labels, and labels ≥ configured classes', () => {
    const frac = dir.write('frac.csv', 'a,label\n1,0\n2,1.5\n');
    expectDataError(() => loadCsv(frac, { labelColumn: 'label' }), frac, 'line 3', '"1.5"', 'integer');
    const neg = dir.write('neg.csv', 'a,label\n1,-1\n');
    expectDataError(() => loadCsv(neg, { labelColumn: 'label' }), neg, 'line 2', 'integer');
    const big = dir.write('big.csv', 'a,label\n1,0\n2,4\n');
    expectDataError(() => loadCsv(big, { labelColumn: 'label', classes: 3 }), big, 'line 3', 'label 4');
  });

  it('rejects an empty file and a header without rows', () => {
    const empty = dir.write('e.csv', '');
    expectDataError(() => loadCsv(empty, { labelColumn: 'label' }), empty, 'header row');
    const header = dir.write('h.csv', 'a,label\n');
    expectDataError(() => loadCsv(header, { labelColumn: 'label' }), header, 'no data rows');
  });

  it('grows past its initial capacity and keeps every row (2500 rows)', () => {
    const lines = ['a,b,label'];
    for (let i = 0; i < 2500; i++) lines.push(`${i},${-i},${i % 7}`);
    const ds = loadCsv(dir.write('many.csv', lines.join('\n')), { labelColumn: 'label' });
    expect(ds.count).toBe(2500);
    expect(ds.classes).toBe(7);
    const out = new Float32Array(2);
    ds.gatherInputs([2499], 0, 1, out);
    expect([...out]).toEqual([2499, -2499]);
    expect(ds.labelAt(2499)).toBe(2499 % 7);
  });
});

describe('CSV class names and column options', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  it('string labels become classes numbered in sorted (code-unit) order over train and test together, and keep their names', () => {
    const train = dir.write('tr.csv', 'x,species\n1,virginica\n2,setosa\n3,versicolor\n4,setosa\n');
    const test = dir.write('te.csv', 'x,species\n5,virginica\n6,setosa\n'); // no versicolor: still numbered as training
    const [a, b] = loadCsvSplits([train, test], { labelColumn: 'species' });
    expect(a!.classNames).toEqual(['setosa', 'versicolor', 'virginica']);
    expect([...a!.labels]).toEqual([2, 0, 1, 0]);
    expect(b!.classes).toBe(3);
    expect([...b!.labels]).toEqual([2, 0]);
    // Code-unit order, not locale order: "B" < "a".
    expect(loadCsv(dir.write('case.csv', 'x,c\n1,a\n2,B\n'), { labelColumn: 'c' }).classNames).toEqual(['B', 'a']);
  });

  it('a given class list (a checkpoint\'s) numbers the labels, and a name outside it is refused, naming line and classes', () => {
    const file = dir.write('p.csv', 'x,species\n1,versicolor\n2,setosa\n3,rose\n');
    expectDataError(() => loadCsv(file, { labelColumn: 'species', classNames: ['setosa', 'versicolor', 'virginica'] }), file, 'line 4', '"rose"', '"setosa", "versicolor", "virginica"');
    const ok = loadCsv(dir.write('q.csv', 'x,species\n1,versicolor\n'), { labelColumn: 'species', classNames: ['setosa', 'versicolor', 'virginica'] });
    expect([...ok.labels]).toEqual([1]);
    expect(ok.classes).toBe(3);
  });

  it('refuses a label column mixing class numbers and names, an empty label, and a classes count that disagrees with the names', () => {
    const mixed = dir.write('m.csv', 'x,c\n1,cat\n2,7\n');
    expectDataError(() => loadCsv(mixed, { labelColumn: 'c' }), mixed, 'line 3', '"7" is a number', 'not both');
    const empty = dir.write('e.csv', 'x,c\n1,cat\n2,\n');
    expectDataError(() => loadCsv(empty, { labelColumn: 'c' }), empty, 'line 3', 'empty');
    const two = dir.write('t.csv', 'x,c\n1,cat\n2,dog\n');
    expectDataError(() => loadCsv(two, { labelColumn: 'c', classes: 3 }), two, '2 classes', 'classes is 3');
  });

  it('labelColumn by number (0-based, −1 = last), header: false, and featureColumns choosing and ordering the features', () => {
    const file = dir.write('n.csv', 'a,b,c,label\n1,2,3,0\n4,5,6,1\n');
    const byIndex = loadCsv(file, { labelColumn: -1 });
    expect([...byIndex.labels]).toEqual([0, 1]);
    expect(byIndex.sampleShape).toEqual([3]);
    const chosen = loadCsv(file, { labelColumn: 3, featureColumns: ['c', 0] });
    const out = new Float32Array(4);
    chosen.gatherInputs([0, 1], 0, 2, out);
    expect([...out]).toEqual([3, 1, 6, 4]);
    const noHeader = loadCsv(dir.write('h.csv', '1,2,yes\n3,4,no\n'), { labelColumn: 2, header: false });
    expect(noHeader.count).toBe(2);
    expect(noHeader.classNames).toEqual(['no', 'yes']);
  });

  it('column mistakes name the file and the columns: a number out of range, a name without a header, the label among the features', () => {
    const file = dir.write('k.csv', 'a,b,label\n1,2,0\n');
    expectDataError(() => loadCsv(file, { labelColumn: 5 }), file, '3 columns', 'label column 5');
    const headless = dir.write('nh.csv', '1,2,0\n');
    expectDataError(() => loadCsv(headless, { labelColumn: 'label', header: false }), headless, 'no header row', 'column number');
    expectDataError(() => loadCsv(file, { labelColumn: 'label', featureColumns: ['a', 'label'] }), file, 'both the label column and a feature column');
    expectDataError(() => loadCsv(file, { labelColumn: 'label', featureColumns: ['a', 'zz'] }), file, 'no column "zz"', 'a, b, label');
  });

  it('a fractional class number hints at "task": "regression"', () => {
    const frac = dir.write('f.csv', 'a,label\n1,0\n2,1.5\n');
    try {
      loadCsv(frac, { labelColumn: 'label' });
      throw new Error('accepted');
    } catch (error) {
      expect((error as { hint?: string }).hint).toContain('"task": "regression"');
    }
  });
});

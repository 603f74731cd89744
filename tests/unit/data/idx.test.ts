import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadIdxPair, parseIdx, readIdxFile } from '../../../shared/src/data/idx.js';
import { expectDataError, gzipSync, idxBytes, tempDir, type TempDir } from './fixtures.js';

// 3 images of 2×3 pixels, labels 2, 0, 1.
const PIXELS = [0, 1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 60, 255, 254, 253, 252, 251, 250];
const LABELS = [2, 0, 1];

describe('IDX reader', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  it('round-trips a raw uint8 images/labels pair: dims, pixels and labels read back unchanged', () => {
    const images = dir.write('img.idx', idxBytes(0x08, [3, 2, 3], PIXELS));
    const labels = dir.write('lbl.idx', idxBytes(0x08, [3], LABELS));
    const ds = loadIdxPair(images, labels);
    expect(ds.count).toBe(3);
    expect(ds.sampleShape).toEqual([2, 3]);
    expect(ds.featureSize).toBe(6);
    expect(ds.classes).toBe(3);
    expect([...ds.labels]).toEqual(LABELS);
    expect([...readIdxFile(images).data]).toEqual(PIXELS);
    expect(ds.toShared().features.dtype).toBe('uint8');
  });

  it('reads gzip files (detected by the 1f 8b magic, whatever the name) to the same content as raw', () => {
    const raw = loadIdxPair(dir.write('i', idxBytes(0x08, [3, 2, 3], PIXELS)), dir.write('l', idxBytes(0x08, [3], LABELS)));
    const gz = loadIdxPair(dir.write('i.bin', gzipSync(idxBytes(0x08, [3, 2, 3], PIXELS))), dir.write('l.gz', gzipSync(idxBytes(0x08, [3], LABELS))));
    const a = new Float32Array(18);
    const b = new Float32Array(18);
    raw.gatherInputs([0, 1, 2], 0, 3, a);
    gz.gatherInputs([0, 1, 2], 0, 3, b);
    expect(b).toEqual(a);
    expect([...gz.labels]).toEqual(LABELS);
  });

  it('converts big-endian float32 (type 0x0D) once into a native float32 store with the same values', () => {
    const values = [0.5, -1.25, 3e-7, 1024];
    const parsed = parseIdx(idxBytes(0x0d, [2, 2], values), 'floats.idx');
    expect(parsed.dtype).toBe('float32');
    expect([...parsed.data]).toEqual(values.map(Math.fround));
    expect(parsed.data.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('rejects a truncated file, saying the declared dims and bytes and how many the file has', () => {
    const full = idxBytes(0x08, [3, 2, 3], PIXELS);
    const file = dir.write('short.idx', full.subarray(0, full.length - 5));
    expectDataError(() => readIdxFile(file), file, 'truncated', '3×2×3 = 18 bytes', 'file has 13');
  });

  it('rejects a truncated float32 file, counting 4 bytes per value', () => {
    const full = idxBytes(0x0d, [2, 2], [1, 2, 3, 4]);
    expectDataError(() => parseIdx(full.subarray(0, full.length - 1), 'f.idx'), 'f.idx', 'truncated', '2×2 × 4 bytes = 16 bytes', 'file has 15');
  });

  it('rejects a header cut inside the dimension list', () => {
    expectDataError(() => parseIdx(idxBytes(0x08, [3, 2, 3], PIXELS).subarray(0, 10), 'h.idx'), 'h.idx', 'truncated', '3 dimensions');
  });

  it('rejects a gzip file whose compressed stream is cut short', () => {
    const gz = gzipSync(idxBytes(0x08, [3, 2, 3], PIXELS));
    const file = dir.write('cut.gz', gz.subarray(0, gz.length - 8));
    expectDataError(() => readIdxFile(file), file, 'gzip');
  });

  it('rejects trailing bytes after the declared data', () => {
    const file = dir.write('long.idx', Buffer.concat([idxBytes(0x08, [3, 2, 3], PIXELS), Buffer.from([9, 9])]));
    expectDataError(() => readIdxFile(file), file, '2 unexpected trailing bytes', '18 bytes', 'file has 20');
  });

  it('rejects a corrupted magic number (first two bytes not zero)', () => {
    const bytes = idxBytes(0x08, [3], LABELS);
    bytes[0] = 0x50;
    bytes[1] = 0x4b;
    expectDataError(() => parseIdx(bytes, 'zip.idx'), 'zip.idx', 'not an IDX file', '0x50 0x4B');
  });

  it('rejects unsupported type bytes, naming the IDX type', () => {
    const bytes = idxBytes(0x08, [3], LABELS);
    bytes[2] = 0x0c;
    expectDataError(() => parseIdx(bytes, 'int.idx'), 'int.idx', '0x0C (int32) is not supported');
    bytes[2] = 0x42;
    expectDataError(() => parseIdx(bytes, 'int.idx'), 'int.idx', '0x42 is not supported');
  });

  it('rejects a dimension count of zero', () => {
    expectDataError(() => parseIdx(Buffer.from([0, 0, 8, 0]), 'z.idx'), 'z.idx', '0 dimensions');
  });

  it('rejects mismatched image and label counts, naming both files and both counts', () => {
    const images = dir.write('img.idx', idxBytes(0x08, [3, 2, 3], PIXELS));
    const labels = dir.write('lbl.idx', idxBytes(0x08, [2], [0, 1]));
    expectDataError(() => loadIdxPair(images, labels), images, '3 images', labels, '2 labels');
  });

  it('rejects a label file that is not 1-D uint8 (e.g. images and labels swapped)', () => {
    const images = dir.write('img.idx', idxBytes(0x08, [3, 2, 3], PIXELS));
    const labels = dir.write('lbl.idx', idxBytes(0x08, [3], LABELS));
    expectDataError(() => loadIdxPair(labels, images), labels, '1-D');
    const floatLabels = dir.write('flbl.idx', idxBytes(0x0d, [3], LABELS));
    expectDataError(() => loadIdxPair(images, floatLabels), floatLabels, '1-D uint8', 'float32');
  });

  it('rejects a label ≥ configured classes, naming the labels file, index and value', () => {
    const images = dir.write('img.idx', idxBytes(0x08, [3, 2, 3], PIXELS));
    const labels = dir.write('lbl.idx', idxBytes(0x08, [3], [1, 7, 0]));
    expectDataError(() => loadIdxPair(images, labels, { classes: 5 }), labels, 'index 1', 'label 7', '0..4');
    expect(loadIdxPair(images, labels).classes).toBe(8); // inferred: max label + 1
  });

  it('names the missing path and points at the config dataset field', () => {
    const missing = `${dir.path}/nope.idx`;
    const error = expectDataError(() => readIdxFile(missing), missing, 'not found');
    expect(error.message).toContain('`dataset`');
  });
});

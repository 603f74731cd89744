import { gunzipSync } from 'node:zlib';
import { DataError } from '../errors.js';
import { Dataset } from './dataset.js';
import { resolveClasses } from './labels.js';
import { checkFiniteFeatures } from './validate-samples.js';
import { readDataFile } from './read-file.js';
import { allocShared } from './shared-memory.js';

/**
 * IDX files (the MNIST format): 00 00 <type byte> <dimension count>, then each dimension as a
 * big-endian uint32, then the values in row-major order. Files may be gzip-compressed (detected
 * by the 1f 8b magic, not by the file name).
 *
 * Supported element types: 0x08 uint8 (kept as uint8 in shared memory: the compact stored form)
 * and 0x0D big-endian float32 (converted once, at load, into a native float32 store, since
 * gathering would otherwise byte-swap every value of every batch). Other IDX types (int8, int16,
 * int32, float64) are rejected rather than silently narrowed.
 */
export type IdxArray =
  | { readonly dtype: 'uint8'; readonly dims: readonly number[]; readonly data: Uint8Array }
  | { readonly dtype: 'float32'; readonly dims: readonly number[]; readonly data: Float32Array };

const TYPE_NAMES: Readonly<Record<number, string>> = {
  0x08: 'uint8',
  0x09: 'int8',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

/** More dimensions than this means a corrupted header, not a real tensor. */
const MAX_DIMS = 8;

const HINT = 'is the path right, and is the file complete? IDX files start with bytes 00 00 <type> <dims>';

/** Reads and checks an IDX file (raw or gzip) into shared memory. */
export function readIdxFile(path: string): IdxArray {
  return parseIdx(decompressIfGzip(readDataFile(path), path), path);
}

/** Parses IDX bytes (already decompressed); `file` names the source in errors. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) throw new DataError(file, `too short to be an IDX file (${bytes.length} bytes; the header alone needs at least 8)`, { hint: HINT });
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataError(file, `not an IDX file: the magic number starts with ${hex(bytes[0])} ${hex(bytes[1])}, expected 0x00 0x00`, { hint: HINT });
  }
  const type = bytes[2] as number;
  if (type !== 0x08 && type !== 0x0d) {
    const known = TYPE_NAMES[type];
    throw new DataError(file, `IDX element type byte ${hex(type)}${known ? ` (${known})` : ''} is not supported; gradmesh reads 0x08 (uint8) and 0x0D (float32)`, {
      hint: known ? 'convert the file to uint8 or float32' : HINT,
    });
  }
  const ndims = bytes[3] as number;
  if (ndims < 1 || ndims > MAX_DIMS) {
    throw new DataError(file, `IDX header declares ${ndims} dimensions; expected 1 to ${MAX_DIMS} (corrupted header?)`, { hint: HINT });
  }
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new DataError(file, `truncated: the header declares ${ndims} dimensions (${headerBytes} header bytes) but the file has ${bytes.length} bytes`);
  }
  const header = new DataView(bytes.buffer, bytes.byteOffset, headerBytes);
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(header.getUint32(4 + 4 * d, false));

  const elementBytes = type === 0x08 ? 1 : 4;
  const elements = dims.reduce((a, b) => a * b, 1);
  const expected = elements * elementBytes;
  const actual = bytes.length - headerBytes;
  const declared = `${dims.join('×')}${elementBytes > 1 ? ` × ${elementBytes} bytes` : ''} = ${expected} bytes`;
  if (actual < expected) {
    throw new DataError(file, `truncated: header says ${declared} of data but the file has ${actual}`, {
      hint: 'the download or copy was interrupted; fetch the file again',
    });
  }
  if (actual > expected) {
    throw new DataError(file, `${actual - expected} unexpected trailing bytes: header says ${declared} of data but the file has ${actual}`, {
      hint: 'the header does not describe this file (wrong dims, or several files concatenated)',
    });
  }

  if (type === 0x08) {
    const data = allocShared('uint8', elements);
    data.set(bytes.subarray(headerBytes));
    return { dtype: 'uint8', dims, data };
  }
  const data = allocShared('float32', elements);
  const body = new DataView(bytes.buffer, bytes.byteOffset + headerBytes, expected);
  for (let i = 0; i < elements; i++) data[i] = body.getFloat32(4 * i, false);
  return { dtype: 'float32', dims, data };
}

export interface IdxPairOptions {
  /** Number of classes; default max label + 1. A label ≥ classes is an error. */
  readonly classes?: number;
  /** Data set name; default the images path. */
  readonly name?: string;
}

/**
 * An images file ([count, ...sampleShape], uint8 or float32) and its labels file ([count], uint8)
 * as one Dataset. The stored sample shape is the images' trailing dims, e.g. [28, 28].
 */
export function loadIdxPair(imagesPath: string, labelsPath: string, options: IdxPairOptions = {}): Dataset {
  const images = readIdxFile(imagesPath);
  const labels = readIdxFile(labelsPath);
  if (images.dims.length < 2) {
    throw new DataError(imagesPath, `an images file needs dims [count, ...sample shape], but this one is 1-D (${images.dims[0]})`, {
      hint: 'did you swap the images and labels paths?',
    });
  }
  if (labels.dtype !== 'uint8' || labels.dims.length !== 1) {
    throw new DataError(labelsPath, `a labels file must be 1-D uint8 (type 0x08), but this one is ${labels.dtype} with dims ${labels.dims.join('×')}`, {
      hint: 'did you swap the images and labels paths?',
    });
  }
  const count = images.dims[0] as number;
  if (labels.data.length !== count) {
    throw new DataError(imagesPath, `has ${count} images but the labels file ${labelsPath} has ${labels.data.length} labels`, {
      context: { labelsFile: labelsPath, images: count, labels: labels.data.length },
      hint: 'the two files must come from the same split (train with train, test with test)',
    });
  }
  if (count === 0) throw new DataError(imagesPath, 'has no samples (its first dimension is 0)');
  if (images.dtype === 'float32') checkFiniteFeatures(images.data, images.data.length / count, imagesPath);
  const classes = resolveClasses(labels.data, labelsPath, options.classes, (i) => `index ${i}`);
  return Dataset.create({ name: options.name ?? imagesPath, sampleShape: images.dims.slice(1), classes, features: images.data, labels: labels.data });
}

function decompressIfGzip(bytes: Buffer, file: string): Buffer {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (cause) {
    throw new DataError(file, `is gzip-compressed but cannot be decompressed (${(cause as Error).message})`, {
      cause,
      hint: 'the file is probably truncated; fetch it again',
    });
  }
}

function hex(b: number | undefined): string {
  return `0x${(b ?? 0).toString(16).padStart(2, '0').toUpperCase()}`;
}

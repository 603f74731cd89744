import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { CheckpointError } from '../errors.js';
import { isObject, type Json, type JsonObject } from '../config/validate.js';

/**
 * The checkpoint byte layout (documented in FORMAT.md): the safetensors layout, so any
 * safetensors reader can open a gradmesh checkpoint.
 *
 *   [u64 little-endian N][N bytes of UTF-8 JSON header, space-padded to a multiple of 8][data]
 *
 * Data is the tensors' raw little-endian float32 bytes, back to back in tensor order. Values are
 * moved as BYTES, never through JS numbers, so NaN payloads and −0 survive bit for bit.
 */

/** One named float32 tensor of a checkpoint (parameters, optimizer state, ...). */
export type CheckpointTensor = { name: string; shape: number[]; data: Float32Array };

/**
 * What a checkpoint holds: free-form JSON metadata (model spec, config, step, epoch, PRNG state,
 * optimizer name, ...) chosen by the trainer, and tensors whose order the format preserves.
 */
export type CheckpointContents = { meta: JsonObject; tensors: CheckpointTensor[] };

/** `__metadata__.format`: tells a gradmesh checkpoint from any other safetensors file. */
export const CHECKPOINT_FORMAT = 'gradmesh-checkpoint';
/** `__metadata__.version`, stored as the string "1" (safetensors metadata values are strings). */
export const CHECKPOINT_VERSION = 1;

/** safetensors' own ceiling on the header size; a larger length field means a corrupt file. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;
const METADATA_KEY = '__metadata__';
const BIG_ENDIAN_HOST = endianness() === 'BE';

/** Serialises checkpoint contents. Throws CheckpointError for unnamed, duplicate or mis-shaped tensors. */
export function encodeCheckpoint(c: CheckpointContents): Buffer {
  const where = '(checkpoint being encoded)';
  const names = new Set<string>();
  let dataBytes = 0;
  for (const t of c.tensors) {
    if (t.name === '' || t.name === METADATA_KEY) throw new CheckpointError(where, `tensor name ${JSON.stringify(t.name)} is reserved or empty`);
    if (names.has(t.name)) throw new CheckpointError(where, `tensor name "${t.name}" appears twice`, { hint: 'give every tensor a unique name' });
    names.add(t.name);
    if (elementCount(t.shape) !== t.data.length) {
      throw new CheckpointError(where, `tensor "${t.name}" has ${t.data.length} values but shape [${t.shape.join(', ')}]`);
    }
    dataBytes += t.data.byteLength;
  }

  const data = Buffer.alloc(dataBytes);
  const header: { [key: string]: Json } = {};
  let offset = 0;
  for (const t of c.tensors) {
    copyLittleEndian(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), data, offset);
    header[t.name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const metadata = {
    format: CHECKPOINT_FORMAT,
    version: String(CHECKPOINT_VERSION),
    sha256: createHash('sha256').update(data).digest('hex'),
    meta: JSON.stringify(c.meta),
  };
  // __metadata__ first: readers that stream the header see the format before any tensor.
  const json = Buffer.from(JSON.stringify({ [METADATA_KEY]: metadata, ...header }), 'utf8');
  // Space padding (as safetensors writes) puts the data at an 8-byte-aligned file offset.
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = Buffer.alloc(8 + headerLength + dataBytes, 0x20);
  out.writeBigUInt64LE(BigInt(headerLength), 0);
  json.copy(out, 8);
  data.copy(out, 8 + headerLength);
  return out;
}

interface Entry {
  readonly name: string;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

/**
 * Parses and verifies a checkpoint. `file` only names the source in errors. Every structural
 * problem and a checksum mismatch throw a CheckpointError saying what is wrong.
 */
export function decodeCheckpoint(bytes: Uint8Array, file: string): CheckpointContents {
  const fail = (message: string, hint?: string): never => {
    throw new CheckpointError(file, message, hint === undefined ? {} : { hint });
  };
  const notACheckpoint = 'the file is truncated or is not a gradmesh checkpoint';

  if (bytes.length < 8) fail(`file has ${bytes.length} bytes, fewer than the 8-byte header length`, notACheckpoint);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared === 0n || declared > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    fail(`header length ${declared} is out of bounds (the file has ${bytes.length - 8} bytes after the length field)`, notACheckpoint);
  }
  const headerLength = Number(declared);
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (err) {
    fail(`header is not valid UTF-8 JSON (${(err as Error).message})`, notACheckpoint);
  }
  if (!isObject(header)) return fail('header is not a JSON object', notACheckpoint);

  const meta = readMetadata(header[METADATA_KEY], fail);

  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA_KEY) continue;
    entries.push(readEntry(name, value, dataLength, fail));
  }
  // Tensor order is data order: the writer lays tensors out back to back in order, and JSON key
  // order is not reliable (integer-like keys are reordered by every JS engine).
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  let previous: Entry | undefined;
  for (const e of entries) {
    if (e.begin < expected && previous) {
      fail(`tensors "${previous.name}" (bytes ${previous.begin}–${previous.end}) and "${e.name}" (bytes ${e.begin}–${e.end}) overlap`, notACheckpoint);
    }
    if (e.begin > expected) fail(`${e.begin - expected} unused bytes in the data section before tensor "${e.name}"`, notACheckpoint);
    expected = e.end;
    previous = e;
  }
  if (expected !== dataLength) fail(`${dataLength - expected} trailing bytes after the last tensor`, notACheckpoint);

  const data = bytes.subarray(dataStart);
  const actual = createHash('sha256').update(data).digest('hex');
  if (actual !== meta.sha256) {
    fail(
      `checksum mismatch: the data hashes to sha256 ${actual} but the header records ${meta.sha256}`,
      'the file is corrupt or was modified; restore it from a backup or retrain',
    );
  }

  const tensors: CheckpointTensor[] = entries.map((e) => {
    const out = new Float32Array((e.end - e.begin) / 4);
    copyLittleEndian(data.subarray(e.begin, e.end), new Uint8Array(out.buffer), 0);
    return { name: e.name, shape: e.shape, data: out };
  });
  return { meta: meta.meta, tensors };
}

type Fail = (message: string, hint?: string) => never;

function readMetadata(value: Json | undefined, fail: Fail): { sha256: string; meta: JsonObject } {
  if (!isObject(value)) return fail(`header has no "${METADATA_KEY}" object`, 'this is not a gradmesh checkpoint');
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') fail(`${METADATA_KEY}.${k} must be a string (safetensors metadata is string-valued)`);
  }
  if (value['format'] !== CHECKPOINT_FORMAT) {
    fail(`${METADATA_KEY}.format is ${JSON.stringify(value['format'])}, not "${CHECKPOINT_FORMAT}"`, 'this safetensors file was not written by gradmesh');
  }
  if (value['version'] !== String(CHECKPOINT_VERSION)) {
    fail(
      `checkpoint format version ${JSON.stringify(value['version'])} is not supported (this gradmesh reads version ${CHECKPOINT_VERSION})`,
      'open it with the gradmesh release that wrote it',
    );
  }
  const sha256 = value['sha256'];
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) {
    return fail(`${METADATA_KEY}.sha256 must be 64 lowercase hex digits, got ${JSON.stringify(sha256)}`);
  }
  let meta: unknown;
  try {
    meta = JSON.parse(String(value['meta']));
  } catch (err) {
    fail(`${METADATA_KEY}.meta is not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(meta)) return fail(`${METADATA_KEY}.meta must encode a JSON object`);
  return { sha256, meta };
}

function readEntry(name: string, value: Json | undefined, dataLength: number, fail: Fail): Entry {
  const what = `tensor "${name}"`;
  if (!isObject(value)) return fail(`${what}: header entry is not an object`);
  if (value['dtype'] !== 'F32') {
    fail(`${what}: dtype ${JSON.stringify(value['dtype'])} is not supported`, 'gradmesh checkpoints hold only F32 tensors');
  }
  const shape = value['shape'];
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    return fail(`${what}: shape ${JSON.stringify(shape)} is not an array of non-negative integers`);
  }
  const offsets = value['data_offsets'];
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)) {
    return fail(`${what}: data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(`${what}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength) {
    fail(`${what}: data_offsets [${begin}, ${end}] reach past the data section (${dataLength} bytes)`, 'the file is truncated; restore it from a backup or use an earlier checkpoint');
  }
  const dims = shape as number[];
  const needed = 4 * elementCount(dims);
  if (end - begin !== needed) fail(`${what}: shape [${dims.join(', ')}] needs ${needed} bytes but data_offsets span ${end - begin}`);
  return { name, shape: dims, begin, end };
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** Copies float32 bytes between host order and little-endian (a plain copy on little-endian hosts). */
function copyLittleEndian(src: Uint8Array, dst: Uint8Array, at: number): void {
  if (!BIG_ENDIAN_HOST) {
    dst.set(src, at);
    return;
  }
  for (let i = 0; i < src.length; i += 4) {
    dst[at + i] = src[i + 3] as number;
    dst[at + i + 1] = src[i + 2] as number;
    dst[at + i + 2] = src[i + 1] as number;
    dst[at + i + 3] = src[i] as number;
  }
}

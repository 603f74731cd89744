import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../../shared/src/errors.js';
import { decodeCheckpoint, encodeCheckpoint, type CheckpointContents } from '../../../shared/src/checkpoint/format.js';
import { rawCheckpoint } from './build.js';

function bits(f: Float32Array): number[] {
  return Array.from(new Uint32Array(f.buffer, f.byteOffset, f.length));
}

function specialValues(): Float32Array {
  const f = new Float32Array(8);
  const u = new Uint32Array(f.buffer);
  u[0] = 0x7fc00001; // quiet NaN with a payload
  u[1] = 0xffa00005; // signalling NaN, negative, with a payload
  u[2] = 0x80000000; // −0
  u[3] = 0x00000001; // smallest subnormal
  f[4] = Infinity;
  f[5] = -Infinity;
  f[6] = 3.14159;
  f[7] = -1e-20;
  return f;
}

function sample(): CheckpointContents {
  return {
    meta: { step: 1200, epoch: 3, model: { layers: [{ type: 'dense', units: 10 }] }, rng: [1, 2, 3, 4], optimizer: 'adam' },
    tensors: [
      // Integer-like names come first in JS object key order; the reader must still keep this order.
      { name: 'zeta', shape: [2, 4], data: specialValues() },
      { name: '1', shape: [3], data: Float32Array.from([1, 2, 3]) },
      { name: 'empty', shape: [0, 5], data: new Float32Array(0) },
      { name: '0', shape: [2, 1, 2], data: Float32Array.from([-0, 0.5, -0.5, 7]) },
    ],
  };
}

function expectRejected(bytes: Uint8Array, message: RegExp): CheckpointError {
  let caught: unknown;
  try {
    decodeCheckpoint(bytes, 'ckpt.safetensors');
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(CheckpointError);
  const e = caught as CheckpointError;
  expect(e.file).toBe('ckpt.safetensors');
  expect(e.message).toMatch(/^ckpt\.safetensors: /);
  expect(e.message).toMatch(message);
  return e;
}

describe('checkpoint format', () => {
  it('round-trips bit for bit (NaN payloads, −0, subnormals, infinities), keeping tensor order and meta', () => {
    const original = sample();
    const decoded = decodeCheckpoint(encodeCheckpoint(original), 'mem');
    expect(decoded.meta).toEqual(original.meta);
    expect(decoded.tensors.map((t) => t.name)).toEqual(['zeta', '1', 'empty', '0']);
    decoded.tensors.forEach((t, i) => {
      const o = original.tensors[i]!;
      expect(t.shape).toEqual(o.shape);
      expect(bits(t.data)).toEqual(bits(o.data));
    });
    expect(Object.is(decoded.tensors[3]!.data[0], -0)).toBe(true);
  });

  it('writes the safetensors layout: u64 LE header length, 8-aligned JSON header, F32 data with relative offsets', () => {
    const bytes = encodeCheckpoint(sample());
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    const data = bytes.subarray(8 + n);
    expect(header.__metadata__.format).toBe('gradmesh-checkpoint');
    expect(header.__metadata__.version).toBe('1');
    expect(header.__metadata__.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(JSON.parse(header.__metadata__.meta).step).toBe(1200);
    expect(Object.values(header.__metadata__).every((v) => typeof v === 'string')).toBe(true);
    expect(header.zeta).toEqual({ dtype: 'F32', shape: [2, 4], data_offsets: [0, 32] });
    expect(header['1']).toEqual({ dtype: 'F32', shape: [3], data_offsets: [32, 44] });
    expect(header['0']).toEqual({ dtype: 'F32', shape: [2, 1, 2], data_offsets: [44, 60] });
    expect(data.length).toBe(60);
    expect(data.readFloatLE(32)).toBe(1);
    expect(data.readFloatLE(56)).toBe(7);
  });

  it('rejects a single flipped data byte with a checksum error saying what to do', () => {
    const bytes = encodeCheckpoint(sample());
    bytes[bytes.length - 3]! ^= 0x01;
    const e = expectRejected(bytes, /checksum mismatch/);
    expect(e.message).toMatch(/the file is corrupt or was modified; restore it from a backup or retrain/);
  });

  it('rejects a truncated file', () => {
    const bytes = encodeCheckpoint(sample());
    expectRejected(bytes.subarray(0, bytes.length - 4), /tensor "0": data_offsets \[44, 60\] reach past the data section \(56 bytes\).*truncated/);
    expectRejected(bytes.subarray(0, 5), /fewer than the 8-byte header length/);
    expectRejected(bytes.subarray(0, 40), /header length \d+ is out of bounds/);
  });

  it('rejects a header length beyond the file or zero', () => {
    const bytes = Buffer.from(encodeCheckpoint(sample()));
    bytes.writeBigUInt64LE(BigInt(bytes.length), 0);
    expectRejected(bytes, /header length \d+ is out of bounds/);
    bytes.writeBigUInt64LE(2n ** 63n, 0);
    expectRejected(bytes, /out of bounds/);
    bytes.writeBigUInt64LE(0n, 0);
    expectRejected(bytes, /out of bounds/);
  });

  it('rejects a header that is not JSON', () => {
    const bytes = Buffer.from(encodeCheckpoint(sample()));
    bytes[8] = 'x'.charCodeAt(0);
    expectRejected(bytes, /header is not valid UTF-8 JSON/);
    expectRejected(rawCheckpoint({}, new Uint8Array(0)).fill(0xff, 8, 9), /not valid UTF-8 JSON/);
  });

  it('rejects overlapping, gapped and trailing data', () => {
    const data = new Uint8Array(12);
    expectRejected(
      rawCheckpoint({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, data),
      /tensors "a" \(bytes 0–8\) and "b" \(bytes 4–12\) overlap/,
    );
    expectRejected(
      rawCheckpoint({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, data),
      /4 unused bytes in the data section before tensor "b"/,
    );
    expectRejected(rawCheckpoint({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data), /4 trailing bytes after the last tensor/);
  });

  it('rejects foreign dtypes, shape/offset mismatches and malformed entries', () => {
    const data = new Uint8Array(8);
    expectRejected(rawCheckpoint({ a: { dtype: 'F16', shape: [4], data_offsets: [0, 8] } }, data), /tensor "a": dtype "F16" is not supported.*only F32/);
    expectRejected(rawCheckpoint({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data), /shape \[3\] needs 12 bytes but data_offsets span 8/);
    expectRejected(rawCheckpoint({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, data), /shape \[-2\] is not an array of non-negative integers/);
    expectRejected(rawCheckpoint({ a: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, data), /end before they begin/);
    expectRejected(rawCheckpoint({ a: { dtype: 'F32', shape: [2], data_offsets: [0] } }, data), /is not a pair/);
    expectRejected(rawCheckpoint({ a: 5 }, data), /tensor "a": header entry is not an object/);
  });

  it('rejects files that are not gradmesh checkpoints of a known version', () => {
    const data = Float32Array.from([1]);
    const bytes = new Uint8Array(data.buffer);
    const t = { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } };
    expectRejected(rawCheckpoint(t, bytes, { format: 'other' }), /format is "other", not "gradmesh-checkpoint"/);
    expectRejected(rawCheckpoint(t, bytes, { version: '2' }), /version "2" is not supported \(this gradmesh reads version 1\)/);
    expectRejected(rawCheckpoint(t, bytes, { version: 1 }), /__metadata__\.version must be a string/);
    expectRejected(rawCheckpoint(t, bytes, { meta: '{oops' }), /__metadata__\.meta is not valid JSON/);
    expectRejected(rawCheckpoint(t, bytes, { meta: '[1]' }), /__metadata__\.meta must encode a JSON object/);
    expectRejected(rawCheckpoint(t, bytes, { sha256: 'abc' }), /sha256 must be 64 lowercase hex digits/);
    const noMeta = Buffer.from(JSON.stringify({ a: t.a }));
    const file = Buffer.concat([Buffer.alloc(8), noMeta, bytes]);
    file.writeBigUInt64LE(BigInt(noMeta.length), 0);
    expectRejected(file, /header has no "__metadata__" object/);
  });

  it('a hand-built valid file decodes (the reader does not depend on the writer’s padding)', () => {
    const data = Float32Array.from([1.5, -2]);
    const decoded = decodeCheckpoint(
      rawCheckpoint({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(data.buffer), { meta: '{"step":3}' }),
      'x',
    );
    expect(decoded).toEqual({ meta: { step: 3 }, tensors: [{ name: 'w', shape: [2], data: data }] });
  });

  it('refuses to encode duplicate names, reserved names or data that does not fit the shape', () => {
    const t = (name: string, shape: number[], n: number) => ({ name, shape, data: new Float32Array(n) });
    expect(() => encodeCheckpoint({ meta: {}, tensors: [t('a', [1], 1), t('a', [1], 1)] })).toThrow(/"a" appears twice/);
    expect(() => encodeCheckpoint({ meta: {}, tensors: [t('__metadata__', [1], 1)] })).toThrow(CheckpointError);
    expect(() => encodeCheckpoint({ meta: {}, tensors: [t('a', [2, 2], 3)] })).toThrow(/has 3 values but shape \[2, 2\]/);
  });
});

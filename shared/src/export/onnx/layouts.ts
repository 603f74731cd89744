/**
 * gradmesh (Keras) weight layouts → ONNX's. Pure functions over row-major arrays.
 */

/** A row-major [rows, cols] matrix transposed to [cols, rows]. */
export function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

/** A conv kernel [kh, kw, in, out] (Keras, HWIO) as ONNX's [out, in, kh, kw] (OIHW). */
export function hwioToOihw(k: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(k.length);
  for (let h = 0; h < kh; h++)
    for (let w = 0; w < kw; w++)
      for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + h) * kw + w] = k[((h * kw + w) * cin + i) * cout + o]!;
  return out;
}

/**
 * A recurrent kernel [rows, gates·units] with gate blocks in gradmesh's order as ONNX's [gates·units, rows]
 * with the blocks taken in `order` (indices into gradmesh's blocks): ONNX's W and R are transposed, one
 * gate block of `units` rows after another.
 */
export function gateRows(k: Float32Array, rows: number, units: number, order: readonly number[]): Float32Array {
  const gates = order.length;
  const t = transpose2d(k, rows, gates * units);
  const out = new Float32Array(t.length);
  order.forEach((from, to) => out.set(t.subarray(from * units * rows, (from + 1) * units * rows), to * units * rows));
  return out;
}

/** A bias [gates·units] with its blocks taken in `order`. */
export function gateBlocks(b: Float32Array, units: number, order: readonly number[]): Float32Array {
  const out = new Float32Array(order.length * units);
  order.forEach((from, to) => out.set(b.subarray(from * units, (from + 1) * units), to * units));
  return out;
}

/** Explicit ONNX pads [top, left, bottom, right] for TF padding (Note [TF padding] in kernels/geometry.ts). */
export function tfPads(padding: 'same' | 'valid', input: readonly [number, number], window: readonly [number, number], strides: readonly [number, number]): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  const before: number[] = [];
  const after: number[] = [];
  for (let a = 0; a < 2; a++) {
    const out = Math.ceil(input[a]! / strides[a]!);
    const total = Math.max((out - 1) * strides[a]! + window[a]! - input[a]!, 0);
    before.push(Math.floor(total / 2));
    after.push(total - Math.floor(total / 2));
  }
  return [...before, ...after];
}

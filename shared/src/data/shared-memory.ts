/**
 * Typed arrays on SharedArrayBuffers, and the structured-clonable references that carry them to
 * other threads.
 *
 * Note [Why SharedArrayBuffer]: piscina hands tasks to its threads with postMessage. An
 * ArrayBuffer in a message is copied (or detached if transferred); a SharedArrayBuffer is shared.
 * Data sets are allocated here once, so every pool thread reads the very same pixels without a copy.
 */
import { InternalError } from '../errors.js';

export type SharedDtype = 'uint8' | 'int32' | 'uint32' | 'float32';

interface ArrayOf {
  uint8: Uint8Array;
  int32: Int32Array;
  uint32: Uint32Array;
  float32: Float32Array;
}

/** A typed array described by plain data: it survives structured cloning and shares its memory. */
export interface SharedArrayRef<D extends SharedDtype = SharedDtype> {
  readonly dtype: D;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly length: number;
}

const BYTES: Record<SharedDtype, number> = { uint8: 1, int32: 4, uint32: 4, float32: 4 };

/** A zero-filled typed array on a fresh SharedArrayBuffer. */
export function allocShared<D extends SharedDtype>(dtype: D, length: number): ArrayOf[D] {
  return view({ dtype, buffer: new SharedArrayBuffer(length * BYTES[dtype]), byteOffset: 0, length });
}

/** `source` itself when it already lives on a SharedArrayBuffer, else a shared copy of it. */
export function ensureShared<D extends SharedDtype>(dtype: D, source: ArrayOf[D]): ArrayOf[D] {
  if (source.buffer instanceof SharedArrayBuffer) return source;
  const copy = allocShared(dtype, source.length);
  (copy as { set(a: ArrayLike<number>): void }).set(source);
  return copy;
}

export function refOf<D extends SharedDtype>(dtype: D, array: ArrayOf[D]): SharedArrayRef<D> {
  if (!(array.buffer instanceof SharedArrayBuffer)) {
    // Internal invariant: everything handed to refOf was allocated by allocShared/ensureShared.
    throw new InternalError(`refOf: the ${dtype} array is not on a SharedArrayBuffer`);
  }
  return { dtype, buffer: array.buffer, byteOffset: array.byteOffset, length: array.length };
}

/** Rebuilds the typed array a reference describes; no bytes are copied. */
export function view<D extends SharedDtype>(ref: SharedArrayRef<D>): ArrayOf[D] {
  if (!(ref.buffer instanceof SharedArrayBuffer)) {
    throw new InternalError(`shared array reference of dtype ${ref.dtype} does not carry a SharedArrayBuffer`);
  }
  const { buffer, byteOffset, length } = ref;
  switch (ref.dtype) {
    case 'uint8':
      return new Uint8Array(buffer, byteOffset, length) as ArrayOf[D];
    case 'int32':
      return new Int32Array(buffer, byteOffset, length) as ArrayOf[D];
    case 'uint32':
      return new Uint32Array(buffer, byteOffset, length) as ArrayOf[D];
    case 'float32':
      return new Float32Array(buffer, byteOffset, length) as ArrayOf[D];
    default:
      throw new InternalError(`unknown shared dtype ${String((ref as { dtype: unknown }).dtype)}`);
  }
}

import { BackendError } from '../../errors.js';
import { Tensor, formatShape, sizeOf } from '../../tensor/tensor.js';
import type { Shape } from '../../tensor/tensor.js';
import { MAX_BYTES, currentBuffer, ensureMemoryBytes } from './memory.js';

/** Alignment of every allocation: a cache line, and a multiple of the 16-byte SIMD width. */
export const ARENA_ALIGN = 64;

/** Extra room taken when an arena grows the memory, so that a step does not grow it page by page. */
const GROWTH_SLACK = 16 * 1024 * 1024;

/**
 * A bump allocator over the byte range [base, limit) of a WebAssembly memory. Allocation moves a
 * pointer; `reset` frees everything at once (the end of a step), `mark`/`release` free everything
 * allocated after a mark (a kernel's workspace). Nothing else frees, so there is no fragmentation
 * and the same sequence of allocations gives the same addresses every step.
 *
 * The range need not be in the memory yet: the memory is grown on demand up to `limit` (default:
 * the 4 GiB ceiling, for the top region). Several arenas may share one memory (the pool gives each
 * thread its own scratch range and shares one persistent range); an arena is used by one thread
 * at a time.
 */
export class Arena {
  readonly memory: WebAssembly.Memory;
  readonly base: number;
  readonly limit: number;
  readonly name: string;
  /**
   * Zeroes `floats` floats at byte address `ptr`; `alloc` calls it. Note [shared fill]: V8's
   * TypedArray fill on a SharedArrayBuffer goes element by element (it must honour the shared
   * memory model), measured 4× slower than a WebAssembly store loop (0.24 vs 0.06 ms for 2.8 MB);
   * zero-filling scratch tensors that way took 7 % of a CNN training step. createWasmBackend
   * therefore points this at the kernels' `fill`; the default serves arenas used without kernels.
   */
  zeroFill: (ptr: number, floats: number) => void;
  #top: number;

  constructor(memory: WebAssembly.Memory, base: number, limit: number = MAX_BYTES, name = 'arena') {
    const aligned = alignUp(base);
    if (!Number.isInteger(base) || base < 0 || !Number.isInteger(limit) || limit > MAX_BYTES || aligned > limit) {
      throw new BackendError(`${name} arena: invalid byte range [${base}, ${limit})`, {
        hint: `need 0 ≤ base ≤ limit ≤ ${MAX_BYTES}, integers`,
      });
    }
    this.memory = memory;
    this.base = aligned;
    this.limit = limit;
    this.name = name;
    this.#top = aligned;
    this.zeroFill = (ptr, floats) => new Float32Array(currentBuffer(this.memory), ptr, floats).fill(0);
  }

  /** Bytes allocated since the last reset (including alignment padding). */
  get used(): number {
    return this.#top - this.base;
  }

  get capacity(): number {
    return this.limit - this.base;
  }

  /** A zero-filled tensor. */
  alloc(shape: Shape): Tensor {
    const n = sizeOf(shape);
    const ptr = this.allocBytes(n * 4, shape);
    this.zeroFill(ptr, n);
    return new Tensor(shape, new Float32Array(currentBuffer(this.memory), ptr, n));
  }

  /**
   * A tensor with whatever the arena's memory held (an earlier step's data). Note [unfilled
   * outputs]: zero-filling is a full write of the tensor; for the output of a kernel that writes
   * every element it is wasted, and on MNIST CNN-BN the fills of the big activations took ≈ 0.65 ms
   * of an ≈ 8.5 ms micro-batch (2026-11-30). Only for such outputs: anything read before it is
   * written would depend on the previous step.
   */
  allocUninitialized(shape: Shape): Tensor {
    const n = sizeOf(shape);
    const ptr = this.allocBytes(n * 4, shape);
    return new Tensor(shape, new Float32Array(currentBuffer(this.memory), ptr, n));
  }

  /** The byte address of `bytes` uninitialised bytes, 64-byte aligned. */
  allocBytes(bytes: number, shape?: Shape): number {
    const ptr = this.#top;
    const end = alignUp(ptr + bytes);
    if (end > this.limit) {
      const what = shape ? `a tensor of shape ${formatShape(shape)}` : `${bytes} bytes`;
      const unbounded = this.limit === MAX_BYTES;
      throw new BackendError(`${this.name} arena is full: ${this.used} of ${this.capacity} bytes in use, cannot allocate ${what}`, {
        hint: unbounded
          ? 'the WebAssembly memory cannot exceed 4 GiB: use smaller batches or micro-batches'
          : `give the ${this.name} arena a larger byte range (new Arena(memory, base, limit) passed to createWasmBackend), or release scratch between steps`,
      });
    }
    if (end > this.memory.buffer.byteLength) {
      ensureMemoryBytes(this.memory, Math.min(this.limit, end + GROWTH_SLACK));
    }
    this.#top = end;
    return ptr;
  }

  /** The current top, to give back everything allocated after it with `release`. */
  mark(): number {
    return this.#top;
  }

  release(mark: number): void {
    if (mark < this.base || mark > this.#top) {
      throw new BackendError(`${this.name} arena: release(${mark}) is outside [${this.base}, ${this.#top}]`);
    }
    this.#top = mark;
  }

  /** Frees every allocation. Tensors from before must not be used again. */
  reset(): void {
    this.#top = this.base;
  }
}

function alignUp(n: number): number {
  return Math.ceil(n / ARENA_ALIGN) * ARENA_ALIGN;
}

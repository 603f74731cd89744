import type { Shape, Tensor } from '../tensor/tensor.js';
import type { Kernels } from './kernels.js';

/**
 * A compute backend: the kernels plus the memory they run on.
 *
 * Memory has two lifetimes. `alloc` gives step-scoped scratch (activations, temporaries),
 * released all at once by `releaseScratch()` at the end of a training step or prediction
 * batch. `allocPersistent` gives memory that lives as long as the backend (parameters,
 * gradients, optimizer state). Tensors handed to kernels of a backend must come from that
 * backend's allocators (a WebAssembly kernel can only address its own memory).
 */
export interface Backend {
  readonly name: string;
  readonly kernels: Kernels;
  /** Zero-filled step-scoped tensor. */
  alloc(shape: Shape): Tensor;
  /**
   * Step-scoped tensor with unspecified contents, for the output of a kernel that writes every
   * element (Note [unfilled outputs] in wasm/arena.ts): it skips `alloc`'s zero fill.
   */
  allocUninitialized(shape: Shape): Tensor;
  /** Zero-filled tensor that lives until the backend is disposed. */
  allocPersistent(shape: Shape): Tensor;
  /** Frees every `alloc` tensor at once. Tensors from before this call must not be used again. */
  releaseScratch(): void;
}

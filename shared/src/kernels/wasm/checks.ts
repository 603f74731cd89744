import { ShapeError } from '../../errors.js';
import { formatShape } from '../../tensor/tensor.js';
import type { Tensor } from '../../tensor/tensor.js';

/**
 * Size checks done once per call before pointers go to WebAssembly. They matter more here than in
 * the reference: a kernel given a too-small tensor would not throw but read or overwrite the
 * neighbouring tensors in the arena.
 */
export function requireSize(kernel: string, what: string, t: Tensor, size: number): void {
  if (t.size !== size) {
    throw new ShapeError(`wasm ${kernel}: ${what} has shape ${formatShape(t.shape)} (${t.size} elements) but ${size} are needed`);
  }
}

export function requireSameSize(kernel: string, reference: Tensor, ...others: Tensor[]): void {
  for (const t of others) {
    if (t.size !== reference.size) {
      throw new ShapeError(`wasm ${kernel}: shapes ${formatShape(reference.shape)} and ${formatShape(t.shape)} differ in size`);
    }
  }
}

/** A tensor seen as rows of its last axis (softmax, cross-entropy). */
export function rowsOf(kernel: string, t: Tensor): { rows: number; cols: number } {
  const cols = t.rank === 0 ? 1 : t.dim(-1);
  if (cols === 0) throw new ShapeError(`wasm ${kernel}: rows of ${formatShape(t.shape)} are empty`);
  return { rows: t.size / cols, cols };
}

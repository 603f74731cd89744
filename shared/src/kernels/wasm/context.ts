import { BackendError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Arena } from './arena.js';
import { memoryOf } from './memory.js';
import type { KernelExports } from './module.js';

/**
 * Note [kernels find their memory]: the kernel table registered as 'wasm' is one set of functions
 * per thread, but tensors may live in different memories (every backend of a test, or the one
 * memory shared by a pool). A kernel therefore looks up, from its output tensor's buffer, the
 * context of that memory in this thread: the instance to call and the scratch arena its workspace
 * (GEMM panels, a flipped filter) is taken from and given back to before it returns.
 */
export interface WasmContext {
  readonly memory: WebAssembly.Memory;
  readonly exports: KernelExports;
  /** Scratch arena of the last backend created over this memory in this thread. */
  scratch: Arena;
}

const contexts = new Map<WebAssembly.Memory, WasmContext>();

export function registerContext(context: WasmContext): void {
  contexts.set(context.memory, context);
}

export function existingContext(memory: WebAssembly.Memory): WasmContext | undefined {
  return contexts.get(memory);
}

/**
 * The context of the memory all `tensors` live in. Throws when a tensor is an ordinary array or
 * lives in another memory: a kernel given such a pointer would read the wrong bytes.
 */
export function contextOf(kernel: string, ...tensors: Tensor[]): WasmContext {
  let found: WasmContext | undefined;
  for (const t of tensors) {
    const memory = memoryOf(t.data.buffer, contexts.keys());
    const context = memory && contexts.get(memory);
    if (!context || (found && context !== found)) {
      throw new BackendError(`wasm ${kernel}: a tensor of shape [${t.shape.join(', ')}] is not in the WebAssembly memory of this call`, {
        hint: 'allocate every tensor given to a wasm kernel with the same backend.alloc() or backend.allocPersistent()',
      });
    }
    found = context;
  }
  if (!found) throw new BackendError(`wasm ${kernel}: called without tensors`);
  return found;
}

/** Runs `body` with `bytes` of workspace from the scratch arena, given back afterwards. */
export function withWorkspace<T>(context: WasmContext, bytes: number, body: (ws: number) => T): T {
  const mark = context.scratch.mark();
  try {
    return body(context.scratch.allocBytes(bytes));
  } finally {
    context.scratch.release(mark);
  }
}

/** Byte address of a tensor's first element. */
export function ptr(t: Tensor): number {
  return t.data.byteOffset;
}

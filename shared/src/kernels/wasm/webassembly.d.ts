/**
 * The slice of the WebAssembly JS API the backend uses. The project compiles with lib ES2022 and
 * @types/node 20, neither of which declares `WebAssembly` (only lib.dom does); Node 20 has it at
 * run time. Delete this file if the tsconfig ever gains a lib that declares it.
 */
declare namespace WebAssembly {
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    /** A SharedArrayBuffer for a shared memory; a new object after every grow. */
    readonly buffer: ArrayBufferLike;
    /** Grows by `delta` pages; returns the previous size in pages; throws RangeError past the maximum. */
    grow(delta: number): number;
  }
  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
}

import { BackendError } from '../../errors.js';

/** WebAssembly page size. */
export const PAGE_BYTES = 65536;
/** wasm32 ceiling, and the maximum the kernels module declares for its imported memory. */
export const MAX_PAGES = 65536;
export const MAX_BYTES = MAX_PAGES * PAGE_BYTES;

/**
 * A shared memory for the kernels: `initialBytes` (rounded up to pages) now, growable to 4 GiB.
 * Note [lazy pages]: V8 reserves the maximum as address space and the OS commits a page only when
 * it is first written, so a large initial size or maximum costs no resident memory by itself.
 */
export function createWasmMemory(initialBytes: number): WebAssembly.Memory {
  const initial = Math.ceil(initialBytes / PAGE_BYTES);
  if (!Number.isInteger(initial) || initial < 1 || initial > MAX_PAGES) {
    throw new BackendError(`a WebAssembly memory of ${initialBytes} bytes is impossible`, { hint: `ask for 1 byte to ${MAX_BYTES} bytes (4 GiB)` });
  }
  return new WebAssembly.Memory({ initial, maximum: MAX_PAGES, shared: true });
}

/**
 * Which memory a typed array's buffer belongs to. Growing a memory replaces `memory.buffer` with a
 * new (larger) SharedArrayBuffer object over the same bytes; views made before stay valid but keep
 * the old object, so every buffer object ever seen is remembered.
 */
const owners = new WeakMap<ArrayBufferLike, WebAssembly.Memory>();

/** The memory's current buffer, remembered as belonging to it. Make every view through this. */
export function currentBuffer(memory: WebAssembly.Memory): ArrayBufferLike {
  const buffer = memory.buffer;
  if (!owners.has(buffer)) owners.set(buffer, memory);
  return buffer;
}

/** The memory behind `buffer`, if it was obtained through currentBuffer or is one of `candidates`' current buffer. */
export function memoryOf(buffer: ArrayBufferLike, candidates: Iterable<WebAssembly.Memory>): WebAssembly.Memory | undefined {
  const known = owners.get(buffer);
  if (known) return known;
  for (const memory of candidates) if (currentBuffer(memory) === buffer) return memory;
  return undefined;
}

/** Grows `memory` so that it holds at least `bytes` bytes. */
export function ensureMemoryBytes(memory: WebAssembly.Memory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (bytes <= have) return;
  const pages = Math.ceil((bytes - have) / PAGE_BYTES);
  try {
    memory.grow(pages);
  } catch (cause) {
    throw new BackendError(`cannot grow the WebAssembly memory from ${have} to ${bytes} bytes`, {
      hint: `the memory's maximum (at most ${MAX_BYTES} bytes) is reached: use smaller batches or micro-batches`,
      cause,
    });
  }
}

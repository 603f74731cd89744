import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BackendError } from '../../errors.js';

/**
 * Loading the compiled kernels. The module is compiled once per thread (a pool thread compiles its
 * own copy; WebAssembly.Module could also be posted to it) and instantiated once per memory, so
 * each thread has its own instance (and its own conv window globals) over the shared memory.
 *
 * The path is the same from shared/src/kernels/wasm (tests, tsx) and shared/dist/kernels/wasm
 * (the build): three levels up is shared/.
 */
export const KERNELS_WASM_URL = new URL('../../../build/kernels.wasm', import.meta.url);

/** The exports of shared/assembly/index.ts. Pointers are byte offsets into the memory. */
export interface KernelExports {
  heapBase(): number;
  gemmWorkspaceBytes(): number;
  gemm(
    aMode: number, a: number, lda: number, bMode: number, b: number, ldb: number, c: number, ldc: number,
    m: number, n: number, k: number, rowStart: number, rowEnd: number, accumulate: number, ws: number,
  ): void;
  setWindow(n: number, h: number, w: number, c: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, oh: number, ow: number): void;
  col2im(cols: number, dx: number): void;
  im2col(x: number, cols: number): void;
  lstmForward(gates: number, cPrev: number, c: number, h: number, rows: number, units: number, act: number, rec: number, forgetBias: number): void;
  lstmBackward(gates: number, cPrev: number, c: number, dh: number, dc: number, dGates: number, rows: number, units: number, act: number, rec: number): void;
  gruForward(projection: number, recurrentProjection: number, hPrev: number, h: number, rows: number, units: number, act: number, rec: number): void;
  gruBackward(
    gates: number, recurrentProjection: number, hPrev: number, dh: number, dProjection: number, dRecurrentProjection: number,
    rows: number, units: number, act: number, rec: number,
  ): void;
  maxPool(x: number, out: number): void;
  maxPoolBackward(dy: number, x: number, dx: number): void;
  avgPool(x: number, out: number): void;
  avgPoolBackward(dy: number, dx: number): void;
  add(a: number, b: number, out: number, n: number): void;
  mul(a: number, b: number, out: number, n: number): void;
  scale(x: number, s: number, out: number, n: number): void;
  axpy(alpha: number, x: number, y: number, n: number): void;
  fill(out: number, value: number, n: number): void;
  copy(src: number, dst: number, n: number): void;
  biasAdd(x: number, bias: number, out: number, rows: number, c: number): void;
  biasGrad(dy: number, out: number, rows: number, c: number, accumulate: number, ws: number): void;
  activation(kind: number, x: number, out: number, n: number, alpha: number): void;
  activationBackward(kind: number, dy: number, x: number, y: number, dx: number, n: number, alpha: number): void;
  softmax(x: number, out: number, rows: number, cols: number): void;
  softmaxBackward(dy: number, y: number, dx: number, rows: number, cols: number): void;
  softmaxCrossEntropy(z: number, t: number, g: number, rows: number, cols: number, gradScale: number): number;
  sum(x: number, n: number): number;
  sumSquares(x: number, n: number): number;
  adam(
    p: number, g: number, m: number, v: number, n: number,
    lr: number, b1: number, oneMinusB1: number, b2: number, oneMinusB2: number, eps: number, c1: number, c2: number, decay: number, l2: number,
  ): void;
  batchNormTrain(x: number, gamma: number, beta: number, eps: number, out: number, mean: number, variance: number, m: number, c: number, ws: number): void;
  batchNormInfer(x: number, gamma: number, beta: number, mean: number, variance: number, eps: number, out: number, m: number, c: number, ws: number): void;
  batchNormBackward(
    dy: number, x: number, gamma: number, mean: number, variance: number, eps: number, dx: number, dGamma: number, dBeta: number, m: number, c: number, ws: number,
  ): void;
  sgd(p: number, g: number, velocity: number, n: number, lr: number, momentum: number, nesterov: number, wd: number): void;
}

let compiled: WebAssembly.Module | undefined;

/**
 * The compiled kernels module (cached for the default location). Synchronous: Node has no size
 * limit on synchronous compilation, and it lets createWasmBackend stay synchronous.
 */
export function kernelsModule(url: URL = KERNELS_WASM_URL): WebAssembly.Module {
  const isDefault = url.href === KERNELS_WASM_URL.href;
  if (isDefault && compiled) return compiled;
  let bytes: Buffer;
  try {
    bytes = readFileSync(fileURLToPath(url));
  } catch (cause) {
    throw new BackendError(`the WebAssembly kernels are not built: cannot read ${fileURLToPath(url)}`, {
      hint: 'run `npm run build:wasm`',
      cause,
    });
  }
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(bytes);
  } catch (cause) {
    throw new BackendError(`${fileURLToPath(url)} is not a valid WebAssembly module`, { hint: 'run `npm run build:wasm` again', cause });
  }
  if (isDefault) compiled = module;
  return module;
}

/** A new instance of the kernels over `memory` (which must be shared and at most 4 GiB). */
export function instantiateKernels(memory: WebAssembly.Memory, module: WebAssembly.Module = kernelsModule()): KernelExports {
  try {
    return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
  } catch (cause) {
    throw new BackendError('cannot instantiate the WebAssembly kernels over this memory', {
      hint: 'the memory must be created with { shared: true, maximum ≤ 65536 pages } (see createWasmMemory), and the module rebuilt with `npm run build:wasm` after an update',
      cause,
    });
  }
}

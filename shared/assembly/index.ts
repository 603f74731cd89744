/**
 * Entry of the kernels module (built by shared/scripts/build-wasm.mjs), one file per kernel
 * family. Kernels take byte pointers into the imported shared memory plus sizes; they never
 * allocate (scratch comes in as a pointer), so the stub runtime's heap is never used and an
 * instance has no state beyond the per-instance window of window.ts.
 */
export { gemm, gemmWorkspaceBytes } from './gemm';
export { setWindow } from './window';
export { col2im, im2col } from './conv';
export { maxPool, maxPoolBackward, avgPool, avgPoolBackward } from './pooling';
export { add, mul, scale, axpy, fill, copy, biasAdd, biasGrad } from './elementwise';
export { activation, activationBackward } from './activation';
export { softmax, softmaxBackward, softmaxCrossEntropy } from './softmax';
export { sum, sumSquares } from './reduce';
export { adam, sgd } from './optimizer';
export { batchNormTrain, batchNormInfer, batchNormBackward } from './normalization';
export { lstmForward, lstmBackward, gruForward, gruBackward } from './recurrent';

/** First byte past the module's static data: arenas must start at or above it. */
export function heapBase(): usize {
  return __heap_base;
}

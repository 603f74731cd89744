import type { LinearKernels } from './signatures/linear.js';
import type { ConvKernels, PoolingKernels } from './signatures/conv.js';
import type { ElementwiseKernels, ReductionKernels } from './signatures/elementwise.js';
import type { LossKernels } from './signatures/loss.js';
import type { NormalizationKernels } from './signatures/normalization.js';
import type { OptimizerKernels } from './signatures/optimizer.js';
import type { RecurrentKernels } from './signatures/recurrent.js';

export type { MatMulOptions } from './signatures/linear.js';
export type { WindowGeometry } from './signatures/conv.js';
export type { ActivationKind } from './signatures/elementwise.js';
export type { AdamUpdate, SgdUpdate } from './signatures/optimizer.js';

/**
 * Every kernel the engine needs, by name. Layers call kernels only through this interface, so a
 * backend slots in without touching them. A backend may implement a subset: the registry fills
 * the rest from the reference backend, which works on any Float32Array (including views into a
 * backend's WebAssembly memory).
 */
export interface Kernels
  extends LinearKernels,
    ConvKernels,
    PoolingKernels,
    ElementwiseKernels,
    ReductionKernels,
    LossKernels,
    NormalizationKernels,
    OptimizerKernels,
    RecurrentKernels {}

export type KernelName = keyof Kernels;

import type { RecurrentKernels } from '../signatures/recurrent.js';

/** Reference (oracle) implementations of the recurrent cell kernels. */
export const recurrentReferenceKernels: RecurrentKernels = {};

import type { Backend } from '../kernels/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkLossShapes } from './check-shapes.js';
import type { Loss } from './loss.js';

/**
 * Cross-entropy of softmax(logits) against a target distribution, through the fused, stable
 * kernel (log-sum-exp). The model's last layer emits logits (no activation); this is Keras'
 * CategoricalCrossentropy(from_logits=True). Per sample −Σ_c t_c·log softmax(z)_c.
 */
export const softmaxCrossEntropy: Loss = {
  name: 'softmaxCrossEntropy',
  compute(output: Tensor, target: Tensor, dOutput: Tensor | null, backend: Backend): number {
    checkLossShapes('softmaxCrossEntropy', output, target);
    const gradient = dOutput ?? backend.alloc(output.shape);
    return backend.kernels.softmaxCrossEntropy(output, target, gradient, 1);
  },
};

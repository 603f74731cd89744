import type { Backend } from '../kernels/backend.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * A training loss. `compute` returns the loss SUMMED over the batch's samples (never the mean:
 * micro-batch and worker sums are added and divided by the global sample count once, see
 * layers/layer.ts) and, when `dOutput` is given, overwrites it with ∂(loss sum)/∂output.
 *
 * Note [per-sample reduction]: a sample's loss is the Keras one. Cross-entropies over a class
 * distribution sum over the classes; elementwise losses (mse, binary cross-entropy) take the
 * MEAN over the sample's features (every non-batch axis), as Keras' mse/bce do over the last
 * axis, so a loss value reads the same whatever the output size.
 */
export interface Loss {
  /** The spec name, e.g. `softmaxCrossEntropy`; models key behaviour on it (logits vs probabilities). */
  readonly name: string;
  compute(output: Tensor, target: Tensor, dOutput: Tensor | null, backend: Backend): number;
}

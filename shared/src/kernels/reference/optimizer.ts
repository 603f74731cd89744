import type { Tensor } from '../../tensor/tensor.js';
import type { AdamUpdate, OptimizerKernels, SgdUpdate } from '../signatures/optimizer.js';

/**
 * Adam (Kingma & Ba) with bias correction, per element:
 *   g ← g + wd·θ                      (coupled L2, when !decoupled)
 *   θ ← θ − lr·wd·θ                   (decoupled, AdamW: applied BEFORE the Adam step, as
 *                                      PyTorch's AdamW does with θ.mul_(1 − lr·wd))
 *   m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²
 *   θ ← θ − lr·m̂/(√v̂ + ε),  m̂ = m/(1 − β1^t), v̂ = v/(1 − β2^t)
 * ε is added to √v̂ (not to v̂), matching PyTorch and Keras.
 */
function adamUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, u: AdamUpdate): void {
  const P = param.data, G = grad.data, Mv = m.data, V = v.data;
  const correction1 = 1 - Math.pow(u.beta1, u.step);
  const correction2 = 1 - Math.pow(u.beta2, u.step);
  const decay = u.decoupled ? 1 - u.lr * u.weightDecay : 1;
  const l2 = u.decoupled ? 0 : u.weightDecay;
  for (let i = 0; i < P.length; i++) {
    const theta = P[i]!;
    const g = G[i]! + l2 * theta;
    const mi = u.beta1 * Mv[i]! + (1 - u.beta1) * g;
    const vi = u.beta2 * V[i]! + (1 - u.beta2) * g * g;
    Mv[i] = mi;
    V[i] = vi;
    P[i] = theta * decay - (u.lr * (mi / correction1)) / (Math.sqrt(vi / correction2) + u.epsilon);
  }
}

/**
 * SGD with PyTorch semantics (dampening 0):
 *   g ← g + wd·θ;  b ← μ·b + g;  update = nesterov ? g + μ·b : b;  θ ← θ − lr·update.
 * Velocity starts at zero, so the first step gives b = g exactly as PyTorch's b = clone(g).
 */
function sgdUpdate(param: Tensor, grad: Tensor, velocity: Tensor | null, u: SgdUpdate): void {
  const P = param.data, G = grad.data;
  const B = velocity?.data;
  for (let i = 0; i < P.length; i++) {
    const g = G[i]! + u.weightDecay * P[i]!;
    let update = g;
    if (B !== undefined && u.momentum !== 0) {
      const b = u.momentum * B[i]! + g;
      B[i] = b;
      update = u.nesterov ? g + u.momentum * b : b;
    }
    P[i] = P[i]! - u.lr * update;
  }
}

export const optimizerReferenceKernels: OptimizerKernels = { adamUpdate, sgdUpdate };

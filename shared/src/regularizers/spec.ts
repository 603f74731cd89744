/** Weight penalty added to the loss: l1·Σ|θ| + l2·Σθ² (the Keras convention). */
export interface RegularizerSpec {
  readonly l1: number;
  readonly l2: number;
}

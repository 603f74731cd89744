/**
 * How a parameter is initialised. Fan-in/fan-out follow Keras: for a shape [..., in, out] the
 * receptive field is the product of the leading dimensions; fanIn = field·in, fanOut = field·out.
 */
export type InitializerSpec =
  | 'glorotUniform'
  | 'glorotNormal'
  | 'heUniform'
  | 'heNormal'
  | 'zeros'
  | 'ones'
  | 'orthogonal'
  | { readonly type: 'constant'; readonly value: number };

export const INITIALIZER_NAMES = ['glorotUniform', 'glorotNormal', 'heUniform', 'heNormal', 'zeros', 'ones', 'orthogonal'] as const;

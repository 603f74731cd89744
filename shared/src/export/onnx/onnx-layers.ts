import type { LayerActivation } from '../../layers/activation-op.js';
import { defaultAlpha } from '../../layers/activation-op.js';
import { toPair } from '../../layers/options.js';
import type { RecurrentActivation } from '../../kernels/signatures/recurrent.js';
import { weight, unsupported, type TrainedLayer } from '../trained-layers.js';
import { withForgetBias } from '../tfjs/keras-weights.js';
import type { GraphBuilder } from './graph-builder.js';
import { gateBlocks, gateRows, hwioToOihw, tfPads } from './layouts.js';

const FORMAT = 'ONNX';
const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

/**
 * Note [NHWC in ONNX]: gradmesh's tensors are NHWC (Keras' channels_last); ONNX's Conv, MaxPool,
 * AveragePool and BatchNormalization take channels at axis 1. Between layers the graph keeps
 * gradmesh's layout, so Flatten, Reshape and Dense see the values in the order they were trained on;
 * each channels-first op is wrapped in a Transpose pair. The pairs cost a copy each, which a runtime's
 * graph optimiser may fuse away; correctness never depends on it.
 */

/** An activation after a layer's linear part (in either layout: these are elementwise, softmax is over the last axis). */
export function emitActivation(g: GraphBuilder, kind: LayerActivation, alpha: number | undefined, x: string, name: string): string {
  const a = alpha ?? defaultAlpha(kind);
  switch (kind) {
    case 'linear': return x;
    case 'relu': return g.op1('Relu', `${name}_relu`, [x]);
    case 'sigmoid': return g.op1('Sigmoid', `${name}_sigmoid`, [x]);
    case 'tanh': return g.op1('Tanh', `${name}_tanh`, [x]);
    case 'leakyRelu': return g.op1('LeakyRelu', `${name}_leaky_relu`, [x], { alpha: { float: a } });
    case 'elu': return g.op1('Elu', `${name}_elu`, [x], { alpha: { float: a } });
    case 'softmax': return g.op1('Softmax', `${name}_softmax`, [x], { axis: -1 });
  }
}

/** The nodes of one gradmesh layer reading `x` ([N, ...inputShape]); returns its output ([N, ...outputShape]). */
export function emitLayer(g: GraphBuilder, t: TrainedLayer, x: string): string {
  const s = t.spec;
  const name = t.layer.name;
  const inShape = t.layer.inputShape;
  switch (s.type) {
    case 'dense': {
      const [inputs, units] = [inShape[0]!, s.units];
      const w = g.weight(`${name}_kernel`, [inputs, units], weight(t, 'kernel'));
      const b = s.useBias ? [g.weight(`${name}_bias`, [units], weight(t, 'bias'))] : [];
      return emitActivation(g, s.activation, s.alpha, g.op1('Gemm', name, [x, w, ...b]), name);
    }
    case 'conv2d': {
      const [kh, kw] = toPair(s.kernelSize);
      const strides = toPair(s.strides);
      const cin = inShape[2]!;
      const w = g.weight(`${name}_kernel`, [s.filters, cin, kh, kw], hwioToOihw(weight(t, 'kernel'), kh, kw, cin, s.filters));
      const b = s.useBias ? [g.weight(`${name}_bias`, [s.filters], weight(t, 'bias'))] : [];
      const pads = tfPads(s.padding, [inShape[0]!, inShape[1]!], [kh, kw], strides);
      const y = channelsFirst(g, name, x, (xc) => g.op1('Conv', name, [xc, w, ...b], { kernel_shape: [kh, kw], strides, pads }));
      return emitActivation(g, s.activation, s.alpha, y, name);
    }
    case 'maxPool2d':
    case 'avgPool2d': {
      const window = toPair(s.poolSize);
      const strides = s.strides === undefined ? window : toPair(s.strides);
      const pads = tfPads(s.padding, [inShape[0]!, inShape[1]!], window, strides);
      // AveragePool's count_include_pad defaults to 0: padded cells do not count, as in gradmesh (and TF).
      const op = s.type === 'maxPool2d' ? 'MaxPool' : 'AveragePool';
      return channelsFirst(g, name, x, (xc) => g.op1(op, name, [xc], { kernel_shape: window, strides, pads }));
    }
    case 'flatten':
      return g.op1('Flatten', name, [x], { axis: 1 });
    case 'reshape':
      return g.op1('Reshape', name, [x, g.int64s(`${name}_shape`, [-1, ...s.targetShape])]);
    case 'dropout':
      return x; // the identity at inference
    case 'activation':
      return emitActivation(g, s.activation, s.alpha, x, name);
    case 'batchNorm':
      return emitBatchNorm(g, t, x, s.epsilon);
    case 'simpleRnn':
    case 'lstm':
    case 'gru':
      return emitRecurrent(g, t, x);
  }
}

/** `body` applied to x transposed NHWC → NCHW, its result transposed back (Note [NHWC in ONNX]). */
function channelsFirst(g: GraphBuilder, name: string, x: string, body: (nchw: string) => string): string {
  const xc = g.op1('Transpose', `${name}_to_nchw`, [x], { perm: TO_NCHW });
  return g.op1('Transpose', `${name}_to_nhwc`, [body(xc)], { perm: TO_NHWC });
}

/** BatchNormalization (inference: the moving statistics) over the last axis, moved to axis 1 and back for rank > 2. */
function emitBatchNorm(g: GraphBuilder, t: TrainedLayer, x: string, epsilon: number): string {
  const name = t.layer.name;
  const c = t.layer.inputShape.at(-1)!;
  const params = (['gamma', 'beta', 'movingMean', 'movingVariance'] as const).map((p) => g.weight(`${name}_${p}`, [c], weight(t, p)));
  const bn = (input: string) => g.op1('BatchNormalization', name, [input, ...params], { epsilon: { float: epsilon } });
  const rank = t.layer.inputShape.length + 1;
  if (rank === 2) return bn(x);
  const rest = Array.from({ length: rank - 2 }, (_, i) => i + 1);
  const toFirst = g.op1('Transpose', `${name}_channels_first`, [x], { perm: [0, rank - 1, ...rest] });
  return g.op1('Transpose', `${name}_channels_last`, [bn(toFirst)], { perm: [0, ...rest.map((r) => r + 1), 1] });
}

const ONNX_ACTIVATIONS: Readonly<Record<RecurrentActivation, string | undefined>> = { tanh: 'Tanh', sigmoid: 'Sigmoid', relu: 'Relu', linear: undefined };

/**
 * SimpleRNN → RNN, LSTM → LSTM, GRU → GRU (linear_before_reset = 1 is Keras' reset_after = true).
 * ONNX recurrent ops read [T, N, F] and write Y [T, dirs, N, H] and Y_h [dirs, N, H]; gradmesh's
 * layers read [N, T, F]. ONNX's gate orders are LSTM (i, o, f, c) and GRU (z, r, h); gradmesh's
 * (Keras') are (i, f, c, o) and (z, r, h). ONNX's B is [W_b, R_b]: LSTM and SimpleRNN have one bias
 * (R_b = 0), GRU two (the rows of gradmesh's [2, 3U] bias).
 */
function emitRecurrent(g: GraphBuilder, t: TrainedLayer, x: string): string {
  const s = t.spec;
  if (s.type !== 'simpleRnn' && s.type !== 'lstm' && s.type !== 'gru') throw unsupported(FORMAT, t, 'this layer type');
  const name = t.layer.name;
  const [T, F] = [t.layer.inputShape[0]!, t.layer.inputShape[1]!];
  const H = s.units;
  const act = (a: RecurrentActivation): string => {
    const onnx = ONNX_ACTIVATIONS[a];
    if (onnx === undefined) throw unsupported(FORMAT, t, `the ${a} recurrent activation`, 'use tanh, sigmoid or relu');
    return onnx;
  };
  let op: string;
  let order: number[];
  let bias: Float32Array;
  const attributes: Record<string, number | readonly string[]> = { hidden_size: H };
  if (s.type === 'simpleRnn') {
    [op, order] = ['RNN', [0]];
    bias = concat(weight(t, 'bias'), new Float32Array(H));
    attributes['activations'] = [act(s.activation)];
  } else if (s.type === 'lstm') {
    [op, order] = ['LSTM', [0, 3, 1, 2]];
    const b = s.unitForgetBias ? withForgetBias(weight(t, 'bias'), H, 1) : weight(t, 'bias');
    bias = concat(gateBlocks(b, H, order), new Float32Array(4 * H));
    attributes['activations'] = [act(s.recurrentActivation), act(s.activation), act(s.activation)];
  } else {
    [op, order] = ['GRU', [0, 1, 2]];
    bias = weight(t, 'bias').slice();
    attributes['activations'] = [act(s.recurrentActivation), act(s.activation)];
    attributes['linear_before_reset'] = 1;
  }
  const gates = order.length;
  const W = g.weight(`${name}_W`, [1, gates * H, F], gateRows(weight(t, 'kernel'), F, H, order));
  const R = g.weight(`${name}_R`, [1, gates * H, H], gateRows(weight(t, 'recurrentKernel'), H, H, order));
  const B = g.weight(`${name}_B`, [1, 2 * gates * H], bias);
  const timeMajor = g.op1('Transpose', `${name}_time_major`, [x], { perm: [1, 0, 2] });
  const [Y, Yh] = g.op(op, name, [timeMajor, W, R, B], attributes, 2);
  if (!s.returnSequences) return g.op1('Reshape', `${name}_last`, [Yh!, g.int64s(`${name}_last_shape`, [-1, H])]);
  const sequence = g.op1('Reshape', `${name}_sequence`, [Y!, g.int64s(`${name}_sequence_shape`, [T, -1, H])]);
  return g.op1('Transpose', `${name}_batch_major`, [sequence], { perm: [1, 0, 2] });
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

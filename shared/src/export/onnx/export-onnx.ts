import type { Model } from '../../train/model.js';
import { trainedStack } from '../trained-layers.js';
import { GraphBuilder } from './graph-builder.js';
import { emitLayer } from './onnx-layers.js';
import { graph, model as modelProto, valueInfo } from './onnx-proto.js';

/** The graph's input and output names; the batch dimension is symbolic. */
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'output';

/**
 * `model` as an ONNX model (opset 13, IR version 8): input `input` [batch, ...inputShape] in
 * gradmesh's layout (NHWC for images), output `output` — the probabilities `gradmesh predict` gives
 * (a softmaxCrossEntropy model ends with a Softmax node).
 */
export function exportOnnx(model: Model, producerVersion: string): Uint8Array {
  const stack = trainedStack(model, 'ONNX');
  const g = new GraphBuilder();
  let x = ONNX_INPUT;
  for (const t of stack.layers) x = emitLayer(g, t, x);
  if (stack.appendSoftmax) x = g.op1('Softmax', 'softmax_output', [x], { axis: -1 });
  g.op('Identity', ONNX_OUTPUT, [x]);
  const outputShape = model.network.outputShape;
  const body = graph(stack.name, g.nodes, g.initializers, [valueInfo(ONNX_INPUT, ['batch', ...stack.inputShape])], [valueInfo(ONNX_OUTPUT, ['batch', ...outputShape])]);
  return modelProto(body, { irVersion: 8, opset: 13, producer: 'gradmesh', producerVersion });
}

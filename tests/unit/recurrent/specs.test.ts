import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../shared/src/config/validate.js';
import { ConfigError, ShapeError } from '../../../shared/src/errors.js';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import { createLayer } from '../../../shared/src/layers/registry.js';
import { LayerStack } from '../../../shared/src/model/layer-stack.js';
import { Random } from '../../../shared/src/random.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';

/** The recurrent layers as a config sees them: types, defaults, parameter layout, shape chaining, errors. */
const scope = { path: 'model.layers[0]' };

function build(spec: JsonObject, inputShape: number[] = [28, 28]) {
  return createLayer(spec, inputShape, 0, scope);
}

describe('recurrent layer specs', () => {
  it('an LSTM reads MNIST as 28 steps of 28 pixels with the Keras layout kernel [28, 512], recurrentKernel [128, 512], bias [512]', () => {
    const lstm = build({ type: 'lstm', units: 128 });
    expect(lstm.name).toBe('lstm_0');
    expect(lstm.outputShape).toEqual([128]);
    expect(lstm.params.map((p) => [p.name, p.shape, p.init])).toEqual([
      ['kernel', [28, 512], 'glorotUniform'],
      ['recurrentKernel', [128, 512], 'orthogonal'],
      ['bias', [512], 'zeros'],
    ]);
  });

  it('a GRU (reset_after) keeps two biases as one [2, 3·units] parameter; a SimpleRNN one block', () => {
    expect(build({ type: 'gru', units: 16 }).params.map((p) => p.shape)).toEqual([[28, 48], [16, 48], [2, 48]]);
    expect(build({ type: 'simpleRnn', units: 16 }).params.map((p) => p.shape)).toEqual([[28, 16], [16, 16], [16]]);
  });

  it('returnSequences gives [time, units], so recurrent layers stack', () => {
    const stack = LayerStack.fromSpecs(
      [{ type: 'lstm', units: 8, returnSequences: true }, { type: 'gru', units: 5, returnSequences: true }, { type: 'simpleRnn', units: 3 }],
      [7, 4], { path: 'model.layers' },
    );
    expect(stack.layers.map((l) => l.outputShape)).toEqual([[7, 8], [7, 5], [3]]);
    const backend = createReferenceBackend();
    const rng = new Random(2);
    const values = new Float32Array(stack.parameterCount).map(() => 0.3 * rng.normal());
    stack.bind(values, new Float32Array(stack.parameterCount), 0);
    const x = new Tensor([2, 7, 4], new Float32Array(56).map(() => rng.normal()));
    const y = stack.forward(x, { backend, training: true, rng });
    expect(y.shape).toEqual([2, 3]);
    expect(y.data.every(Number.isFinite)).toBe(true);
  });

  it('a recurrent layer after a vector-valued layer is a ShapeError naming the layer and the fix', () => {
    const err = (() => {
      try {
        build({ type: 'lstm', units: 4 }, [784]);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ShapeError);
    expect((err as Error).message).toMatch(/model\.layers\[0\].*lstm.*\[784\]/);
    expect((err as ShapeError).hint).toMatch(/returnSequences/);
  });

  it('options are validated with the field named: units, activation, unknown keys (GRU takes no resetAfter)', () => {
    expect(() => build({ type: 'gru', units: 0 })).toThrow(/model\.layers\[0\]\.units/);
    expect(() => build({ type: 'lstm', units: 4, activation: 'softmax' })).toThrow(ConfigError);
    expect(() => build({ type: 'gru', units: 4, resetAfter: false })).toThrow(/model\.layers\[0\]\.resetAfter.*not a known option/);
    expect(() => build({ type: 'simpleRnn', units: 4, recurrentActivation: 'sigmoid' })).toThrow(/recurrentActivation/);
    expect(() => build({ type: 'lstm', units: 4, unitForgetBias: 'yes' })).toThrow(/unitForgetBias/);
  });

  it('initializers and regularizers can be set per weight', () => {
    const rnn = build({ type: 'simpleRnn', units: 4, recurrentInitializer: 'glorotNormal', recurrentRegularizer: { l2: 0.01 } });
    expect(rnn.params[1]!.init).toBe('glorotNormal');
    expect(rnn.params[1]!.update).toEqual({ kind: 'gradient', regularizer: { l1: 0, l2: 0.01 } });
    expect(rnn.params[0]!.update).toEqual({ kind: 'gradient' });
  });
});

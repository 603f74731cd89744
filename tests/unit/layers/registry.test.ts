import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../../shared/src/errors.js';
import { createLayer, layerTypes } from '../../../shared/src/layers/registry.js';
import type { JsonObject } from '../../../shared/src/config/validate.js';

const at = (i: number) => ({ path: `model.layers[${i}]` });

describe('createLayer', () => {
  it('builds every feed-forward type, chaining shapes, with default names `${type}_${index}`', () => {
    const specs: JsonObject[] = [
      { type: 'reshape', targetShape: [6, 6, 1] },
      { type: 'conv2d', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' },
      { type: 'batchNorm' },
      { type: 'maxPool2d' },
      { type: 'avgPool2d', poolSize: [3, 3], strides: 1, padding: 'valid' },
      { type: 'flatten' },
      { type: 'dropout', rate: 0.25 },
      { type: 'dense', units: 5, activation: 'leakyRelu', alpha: 0.1, kernelRegularizer: { l2: 1e-4 }, kernelInitializer: 'heNormal' },
      { type: 'activation', activation: 'softmax', name: 'probabilities' },
    ];
    let shape: readonly number[] = [36];
    const built = specs.map((spec, i) => {
      const layer = createLayer(spec, shape, i, at(i));
      shape = layer.outputShape;
      return layer;
    });
    expect(built.map((l) => [l.name, l.outputShape])).toEqual([
      ['reshape_0', [6, 6, 1]],
      ['conv2d_1', [6, 6, 4]],
      ['batchNorm_2', [6, 6, 4]],
      ['maxPool2d_3', [3, 3, 4]],
      ['avgPool2d_4', [1, 1, 4]],
      ['flatten_5', [4]],
      ['dropout_6', [4]],
      ['dense_7', [5]],
      ['probabilities', [5]],
    ]);
    expect(built[7]!.params[0]).toMatchObject({ init: 'heNormal', update: { kind: 'gradient', regularizer: { l1: 0, l2: 1e-4 } } });
    expect(layerTypes()).toEqual(expect.arrayContaining(built.map((l) => l.type)));
  });

  it('a dense layer right after a conv2d fails with a ShapeError telling to add a flatten layer', () => {
    expect(() => createLayer({ type: 'dense', units: 10 }, [26, 26, 8], 3, at(3))).toThrow(ShapeError);
    expect(() => createLayer({ type: 'dense', units: 10 }, [26, 26, 8], 3, at(3))).toThrow(/model\.layers\[3\].*\[26, 26, 8\].*add a flatten layer/);
  });

  it('a conv2d on a vector input fails with a hint to reshape', () => {
    expect(() => createLayer({ type: 'conv2d', filters: 2, kernelSize: 3 }, [784], 0, at(0))).toThrow(/reshape/);
  });

  it("a 'valid' window larger than its input fails naming the layer", () => {
    expect(() => createLayer({ type: 'maxPool2d', poolSize: 4 }, [3, 3, 1], 2, at(2))).toThrow(/model\.layers\[2\].*does not fit/);
  });

  it('an unknown type fails with a ConfigError listing the known types', () => {
    const attempt = () => createLayer({ type: 'dens', units: 3 }, [4], 0, at(0));
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/model\.layers\[0\]\.type: is not a known layer type.*dense, conv2d/);
  });

  it('negative or fractional units fail with a ConfigError naming model.layers[i].units', () => {
    expect(() => createLayer({ type: 'dense', units: -3 }, [4], 1, at(1))).toThrow(/model\.layers\[1\]\.units: must be ≥ 1 \(got -3\)/);
    expect(() => createLayer({ type: 'dense', units: 2.5 }, [4], 1, at(1))).toThrow(/model\.layers\[1\]\.units: must be an integer/);
  });

  it('an unknown option key (a typo) fails with a ConfigError naming it', () => {
    expect(() => createLayer({ type: 'dense', unit: 3 }, [4], 0, at(0))).toThrow(/model\.layers\[0\]\.unit: is not a known option/);
  });

  it('bad option values fail with the field path: activation, rate, targetShape size, padding, initializer, regularizer', () => {
    expect(() => createLayer({ type: 'dense', units: 2, activation: 'gelu' }, [4], 0, at(0))).toThrow(/model\.layers\[0\]\.activation: must be one of/);
    expect(() => createLayer({ type: 'dropout', rate: 1 }, [4], 0, at(0))).toThrow(/model\.layers\[0\]\.rate: must be in \[0, 1\)/);
    expect(() => createLayer({ type: 'reshape', targetShape: [3, 3] }, [4], 0, at(0))).toThrow(/model\.layers\[0\]\.targetShape: has 9 elements/);
    expect(() => createLayer({ type: 'conv2d', filters: 1, kernelSize: 1, padding: 'full' }, [2, 2, 1], 0, at(0))).toThrow(/padding: must be one of same, valid/);
    expect(() => createLayer({ type: 'dense', units: 1, kernelInitializer: 'xavier' }, [4], 0, at(0))).toThrow(/kernelInitializer: is not a known initializer/);
    expect(() => createLayer({ type: 'dense', units: 1, kernelRegularizer: { l3: 1 } }, [4], 0, at(0))).toThrow(/kernelRegularizer\.l3: is not a known option/);
    expect(() => createLayer({ type: 'batchNorm', momentum: 1.5 }, [4], 0, at(0))).toThrow(/momentum: must be ≤ 1/);
  });

  it('accepts a constant initializer object', () => {
    const layer = createLayer({ type: 'dense', units: 1, biasInitializer: { type: 'constant', value: 0.1 } }, [2], 0, at(0));
    expect(layer.params[1]!.init).toEqual({ type: 'constant', value: 0.1 });
  });
});

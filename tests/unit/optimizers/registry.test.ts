import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/src/errors.js';
import { OPTIMIZER_TYPES, optimizerFromSpec, optimizerLearningRate } from '../../../shared/src/optimizers/registry.js';
import type { Json } from '../../../shared/src/config/validate.js';
import { countingBackend } from './counting-backend.js';
import { segments } from './segments.js';

const scope = { path: 'optimizer' };
const build = (spec: Json) => optimizerFromSpec(spec, scope, countingBackend(), [1]);

describe('optimizerFromSpec', () => {
  it('builds every known type', () => {
    expect(OPTIMIZER_TYPES).toEqual(['sgd', 'adam', 'adamw', 'adagrad', 'rmsprop']);
    for (const type of OPTIMIZER_TYPES) expect(build({ type }).name).toBe(type);
  });

  it('passes the options through (SGD momentum changes the second step)', () => {
    const opt = build({ type: 'sgd', learningRate: 0.1, momentum: 0.5 });
    const segs = segments({ theta: [0], grad: [1] });
    opt.step(segs, 1);
    opt.step(segs, 1);
    expect(segs[0]!.value.data[0]).toBe(-2.5);
  });

  it('rejects an unknown type, listing the known ones', () => {
    const err = (() => {
      try {
        build({ type: 'adamax' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe('optimizer.type');
    expect((err as Error).message).toMatch(/"adamax".*sgd, adam, adamw, adagrad, rmsprop/);
  });

  it('rejects a zero or negative learning rate naming optimizer.learningRate and the value', () => {
    expect(() => build({ type: 'adam', learningRate: 0 })).toThrow(/optimizer\.learningRate: must be > 0 \(got 0\)/);
    expect(() => build({ type: 'sgd', learningRate: -0.1 })).toThrow(/optimizer\.learningRate.*-0\.1/);
    expect(() => build({ type: 'sgd', learningRate: '0.1' })).toThrow(ConfigError);
  });

  it('rejects unknown keys, out-of-range options and nesterov without momentum', () => {
    expect(() => build({ type: 'adam', beta3: 0.9 })).toThrow(/optimizer\.beta3: is not a known option/);
    expect(() => build({ type: 'adam', beta2: 1 })).toThrow(/optimizer\.beta2/);
    expect(() => build({ type: 'adam', epsilon: 0 })).toThrow(/optimizer\.epsilon/);
    expect(() => build({ type: 'adamw', weightDecay: -1 })).toThrow(/optimizer\.weightDecay/);
    expect(() => build({ type: 'sgd', nesterov: true })).toThrow(/optimizer\.nesterov: needs a momentum > 0/);
    expect(() => build({ type: 'rmsprop', momentum: 0.9, rho: 1.5 })).toThrow(/optimizer\.rho/);
    expect(() => build({ type: 'adagrad', initialAccumulatorValue: -0.1 })).toThrow(/optimizer\.initialAccumulatorValue/);
    expect(() => build('adam')).toThrow(ConfigError);
  });

  it('names the config file when the scope has one', () => {
    expect(() => optimizerFromSpec({ type: 'sgd', learningRate: 0 }, { path: 'optimizer', file: 'run.json' }, countingBackend(), [1])).toThrow(
      /^run\.json: optimizer\.learningRate/,
    );
  });
});

describe('optimizerLearningRate', () => {
  it('returns the spec value or the type default', () => {
    expect(optimizerLearningRate({ type: 'adam', learningRate: 0.003 })).toBe(0.003);
    expect(optimizerLearningRate({ type: 'adam' })).toBe(0.001);
    expect(optimizerLearningRate({ type: 'sgd' })).toBe(0.01);
    expect(() => optimizerLearningRate({ type: 'adam', learningRate: -1 })).toThrow(/optimizer\.learningRate/);
  });
});

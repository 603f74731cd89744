import { afterEach, describe, expect, it, vi } from 'vitest';
import { pruneCheckpoints } from '../../../shared/src/checkpoint/store.js';
import { Dataset } from '../../../shared/src/data/dataset.js';
import {
  BackendError,
  CheckpointError,
  ClusterError,
  ConfigError,
  DataError,
  GradmeshError,
  InternalError,
  ProtocolError,
  ShapeError,
} from '../../../shared/src/errors.js';
import { reportError } from '../../../cli/src/main.js';

function tiny(): Dataset {
  return Dataset.create({ name: 'tiny', sampleShape: [2], classes: 2, features: new Uint8Array(8), labels: Uint8Array.from([0, 1, 0, 1]) });
}

describe('error families', () => {
  it('gives each family its code', () => {
    expect(new ConfigError('training.epochs', 'must be ≥ 1', { value: 0 }).code).toBe('E_CONFIG');
    expect(new DataError('train.idx', 'truncated').code).toBe('E_DATA');
    expect(new CheckpointError('ckpt-1.safetensors', 'corrupt').code).toBe('E_CHECKPOINT');
    expect(new ProtocolError('gm.run.ctl', 'malformed').code).toBe('E_PROTOCOL');
    expect(new ClusterError('rank 1 stalled').code).toBe('E_CLUSTER');
    expect(new InternalError('invariant').code).toBe('E_INTERNAL');
  });

  it('makes a ShapeError a config error whose message is not prefixed by its field', () => {
    const e = new ShapeError('model.layers[2]: dense layer "d" needs a 1-D input', { hint: 'add a flatten layer', context: { field: 'model.layers[2]' } });
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.code).toBe('E_CONFIG');
    expect(e.name).toBe('ShapeError');
    expect(e.field).toBe('model.layers[2]');
    expect(e.context['field']).toBe('model.layers[2]');
    expect(e.message).toBe('model.layers[2]: dense layer "d" needs a 1-D input (add a flatten layer)');
  });

  it('makes a BackendError an internal error that keeps its name', () => {
    const e = new BackendError('the WebAssembly kernels are not built', { hint: 'run `npm run build:wasm`' });
    expect(e).toBeInstanceOf(InternalError);
    expect(e.code).toBe('E_INTERNAL');
    expect(e.name).toBe('BackendError');
  });
});

describe('user-reachable checks throw a family error, not a RangeError', () => {
  it('a validation split outside (0, 1) is a ConfigError naming validationSplit and the value', () => {
    const e = (() => {
      try {
        tiny().split(1.5);
      } catch (error) {
        return error;
      }
    })();
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).field).toBe('validationSplit');
    expect((e as Error).message).toMatch(/got 1\.5/);
  });

  it('a slice outside the data set is a DataError naming it', () => {
    expect(() => tiny().slice(0, 9)).toThrow(DataError);
    expect(() => tiny().slice(0, 9)).toThrow(/^tiny: slice \[0, 9\)/);
  });

  it('keepLast below 1 is a ConfigError naming keepLast', async () => {
    await expect(pruneCheckpoints('/nonexistent', 0)).rejects.toThrow(/keepLast: .* \(got 0\)/);
  });
});

describe('reportError', () => {
  afterEach(() => vi.restoreAllMocks());

  function report(error: unknown): { code: number; text: string } {
    let text = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      text += String(chunk);
      return true;
    });
    const code = reportError(error, false);
    vi.restoreAllMocks();
    return { code, text };
  }

  it('exits 2 with one line for input errors', () => {
    for (const error of [
      new ConfigError('training.epochs', 'must be ≥ 1', { value: 0 }),
      new ShapeError('model.layers[1]: shapes do not chain'),
      new DataError('train.idx', 'truncated'),
      new CheckpointError('ckpt.safetensors', 'corrupt'),
      new ProtocolError('gm.run.ctl', 'another protocol version'),
    ] satisfies GradmeshError[]) {
      const { code, text } = report(error);
      expect(code).toBe(2);
      expect(text.trimEnd().split('\n')).toHaveLength(1);
      expect(text).toContain(error.name);
    }
  });

  it('exits 1 for a failed run', () => {
    expect(report(new ClusterError('rank 1 stalled')).code).toBe(1);
  });

  it('exits 1 for an internal error and asks for a report', () => {
    const { code, text } = report(new BackendError('the pool thread entry is missing'));
    expect(code).toBe(1);
    expect(text).toMatch(/^gradmesh: internal error: BackendError: .*please report/);
    expect(text.trimEnd().split('\n')).toHaveLength(1);
  });
});

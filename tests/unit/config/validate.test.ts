import { describe, expect, it } from 'vitest';
import { child, describeField, requireNumber, type ValidationScope } from '../../../shared/src/config/validate.js';
import { ConfigError, ProtocolError } from '../../../shared/src/errors.js';

describe('field readers', () => {
  it('throw a ConfigError naming the file by default', () => {
    const scope: ValidationScope = { path: 'training', file: 'run.json' };
    expect(() => requireNumber({ epochs: -1 }, 'epochs', scope, { min: 1 })).toThrow(ConfigError);
    expect(() => requireNumber({ epochs: -1 }, 'epochs', scope, { min: 1 })).toThrow('run.json: training.epochs: must be ≥ 1 (got -1)');
  });

  it("throw the scope's own error, which children inherit", () => {
    const scope: ValidationScope = { path: 'body', error: (field, message, details) => new ProtocolError('run.x.step', describeField(field, message, details)) };
    const read = () => requireNumber({ rank: 'a' }, 'rank', child(child(scope, 'state'), 0));
    expect(read).toThrow(ProtocolError);
    expect(read).toThrow('run.x.step: body.state[0].rank: must be a finite number (got "a")');
  });
});

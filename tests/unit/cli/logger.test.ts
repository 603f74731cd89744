import { describe, expect, it } from 'vitest';
import { createLogger, parseLogFormat } from '../../../cli/src/log/logger.js';
import { progressLine, progressReporter } from '../../../cli/src/progress.js';
import type { ProgressEvent } from '../../../shared/src/train/history.js';

function capture() {
  const lines: string[] = [];
  return { out: { write: (t: string) => lines.push(t) }, lines };
}

const EPOCH: ProgressEvent = {
  type: 'epoch',
  record: { epoch: 2, trainLoss: 0.25, trainAccuracy: 0.9, valLoss: 0.3, valAccuracy: 0.88, seconds: 4.2, learningRate: 0.01, samplesPerSec: 1234.4, extras: {} },
  epochs: 3,
  etaSeconds: 4,
  stoppedEarly: false,
};

/** Note [one line per event] in cli/src/log/logger.ts. */
describe('the logger of the cluster processes', () => {
  it('writes the text format as the bare line, byte for byte what gradmesh printed before', () => {
    const { out, lines } = capture();
    const log = createLogger({ format: 'text', role: 'worker', out });
    log.info('worker w0: rank 0 of 2 (generation 1) from step 0', { event: 'x', rank: 0 });
    log.error('gradmesh: worker w0: failed');
    expect(lines).toEqual(['worker w0: rank 0 of 2 (generation 1) from step 0\n', 'gradmesh: worker w0: failed\n']);
  });

  it('writes the json format as one object per line: time, level, role, event, msg, then the fields', () => {
    const { out, lines } = capture();
    const log = createLogger({ format: 'json', role: 'coordinator', out, now: () => Date.UTC(2026, 0, 2, 3, 4, 5) });
    log.info('line one\nline two', { event: 'confusion-matrix', step: 7, ranks: [{ rank: 0, worker: 'w0' }] });
    log.warn('careful');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true);
    const first = JSON.parse(lines[0]!);
    expect(Object.keys(first)).toEqual(['time', 'level', 'role', 'event', 'msg', 'step', 'ranks']);
    expect(first).toEqual({ time: '2026-01-02T03:04:05.000Z', level: 'info', role: 'coordinator', event: 'confusion-matrix', msg: 'line one\nline two', step: 7, ranks: [{ rank: 0, worker: 'w0' }] });
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: 'warn', msg: 'careful' });
    expect(JSON.parse(lines[1]!)).not.toHaveProperty('event');
  });

  it('does not let a field overwrite time, level, role or msg', () => {
    const { out, lines } = capture();
    createLogger({ format: 'json', role: 'worker', out }).info('m', { level: 'debug', role: 'x', msg: 'y', time: 0 });
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'info', role: 'worker', msg: 'm' });
  });

  it('accepts --log-format text or json only', () => {
    expect(parseLogFormat(undefined, '--log-format')).toBe('text');
    expect(parseLogFormat('json', '--log-format')).toBe('json');
    expect(() => parseLogFormat('yaml', '--log-format')).toThrow('--log-format: must be text or json (got "yaml")');
  });

  it('logs progress as events in json (epoch fields without parsing msg); the text line is the printer\'s', () => {
    expect(progressLine(EPOCH)).toBe('epoch 2/3  trainLoss 0.2500  trainAccuracy 90.00%  valLoss 0.3000  valAccuracy 88.00%  1,234 samples/s  4.2s  ETA 4s');
    const { out, lines } = capture();
    const report = progressReporter(createLogger({ format: 'json', role: 'coordinator', out }));
    report({ type: 'batch', epoch: 0, epochs: 3, batch: 1, batches: 10, loss: 1, samplesPerSec: 1, etaSeconds: 1 });
    report(EPOCH);
    report({ type: 'checkpoint', path: 'ckpt-100.safetensors', step: 100 });
    report({ type: 'skipped', step: 5, ranks: [1], consecutive: 1 });
    const events = lines.map((l) => JSON.parse(l));
    expect(events.map((e) => e.event)).toEqual(['epoch', 'checkpoint', 'step-skipped']);
    expect(events[0]).toMatchObject({ epoch: 2, epochs: 3, trainLoss: 0.25, trainAccuracy: 0.9, valAccuracy: 0.88, msg: progressLine(EPOCH) });
    expect(events[1]).toMatchObject({ step: 100, path: 'ckpt-100.safetensors', msg: 'checkpoint ckpt-100.safetensors (step 100)' });
    expect(events[2]).toMatchObject({ level: 'warn', step: 5, ranks: [1] });
    // --quiet: only the warning of a skipped step is logged.
    const quiet = capture();
    const quietReport = progressReporter(createLogger({ format: 'json', role: 'coordinator', out: quiet.out }), { quiet: true });
    quietReport(EPOCH);
    quietReport({ type: 'skipped', step: 5, ranks: [1], consecutive: 1 });
    expect(quiet.lines.map((l) => JSON.parse(l).event)).toEqual(['step-skipped']);
  });
});

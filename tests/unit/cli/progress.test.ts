import { describe, expect, it } from 'vitest';
import { epochLine, LIVE_EVERY_MS, PLAIN_EVERY_MS, progressPrinter } from '../../../cli/src/progress.js';
import { historyForReport } from '../../../shared/src/train/report.js';
import type { EpochRecord, ProgressEvent } from '../../../shared/src/train/history.js';
import { parseRunConfig } from '../../../shared/src/config/run-config.js';

/** A stream that records what was written, as a terminal or not. */
function sink(isTTY: boolean) {
  const writes: string[] = [];
  return { out: { isTTY, write: (s: string) => (writes.push(s), true) } as unknown as NodeJS.WriteStream, writes };
}

const batch = (b: number, batches = 1000): ProgressEvent => ({ type: 'batch', epoch: 0, epochs: 2, batch: b, batches, loss: 0.5, samplesPerSec: 1000, etaSeconds: 30 });
const record: EpochRecord = { epoch: 1, trainLoss: 0.25, trainAccuracy: 0.9, valLoss: 0.3, valAccuracy: 0.875, seconds: 4, learningRate: 0.001, samplesPerSec: 1000, extras: {} };
const epoch: ProgressEvent = { type: 'epoch', record, epochs: 2, etaSeconds: 4, stoppedEarly: false };

/** Feeds one batch event per simulated 100 ms for `seconds` and returns the writes. */
function run(isTTY: boolean, seconds: number, quiet = false): string[] {
  let t = 0;
  const { out, writes } = sink(isTTY);
  const print = progressPrinter(out, { now: () => t, quiet });
  for (let b = 1; t < seconds * 1000; b++, t += 100) print(batch(b));
  print(epoch);
  return writes;
}

describe('progress within an epoch', () => {
  it('without a terminal: a plain line (ending in a newline) every ~10 s of a 45 s epoch, then the epoch line', () => {
    const writes = run(false, 45);
    const plain = writes.filter((w) => w.includes('batch '));
    expect(plain).toHaveLength(Math.floor(45_000 / PLAIN_EVERY_MS)); // at 10, 20, 30, 40 s
    for (const line of plain) expect(line).toMatch(/^ {2}epoch 1\/2 {2}batch \d+\/1000 {2}trainLoss 0\.5000 .*ETA 30s\n$/);
    expect(writes.at(-1)).toMatch(/^epoch 1\/2 {2}trainLoss/);
    expect(writes.join('')).not.toContain('\r');
  });

  it('on a terminal: one live line redrawn in place about every 0.5 s, cleared before the epoch line', () => {
    const writes = run(true, 5);
    const live = writes.filter((w) => w.startsWith('\r  epoch'));
    // 5 s at 0.5 s intervals, the first drawn at once.
    expect(live.length).toBe(Math.ceil(5000 / LIVE_EVERY_MS));
    expect(live.every((w) => !w.includes('\n'))).toBe(true);
    expect(writes.at(-2)).toBe('\r\x1b[2K');
  });

  it('--quiet prints no progress at all, but still the warning of a skipped step', () => {
    expect(run(false, 45, true)).toEqual([]);
    expect(run(true, 5, true)).toEqual([]);
    const { out, writes } = sink(false);
    progressPrinter(out, { quiet: true })({ type: 'skipped', step: 7, ranks: [1], consecutive: 1 });
    expect(writes.join('')).toContain('step 7 skipped');
  });
});

describe('one naming scheme: printed output, report and config', () => {
  it('the epoch line names each figure as the report history does, and the config monitors what is printed', () => {
    const line = epochLine(epoch as Extract<ProgressEvent, { type: 'epoch' }>);
    const printed = [...line.matchAll(/([a-zA-Z]+) \d/g)].map((m) => m[1]!).filter((name) => name !== 'epoch' && name !== 'ETA');
    expect(printed).toEqual(['trainLoss', 'trainAccuracy', 'valLoss', 'valAccuracy']);
    const reported = Object.keys(historyForReport([record])[0]!);
    for (const name of printed) expect(reported).toContain(name);
    for (const name of printed.filter((n) => n.startsWith('val'))) {
      const config = parseRunConfig({ dataset: 'mnist', model: { inputShape: [1], layers: [{ type: 'dense', units: 1 }] }, loss: 'mse', optimizer: { type: 'sgd', learningRate: 0.1 }, training: { earlyStopping: { monitor: name } } });
      expect(config.training.earlyStopping?.monitor).toBe(name);
    }
    expect(line).not.toMatch(/val_|_acc/);
  });

  it('an epoch too short for the millisecond clock prints no samples/s figure (it would be count / 1e-9)', () => {
    const instant = epochLine({ ...(epoch as Extract<ProgressEvent, { type: 'epoch' }>), record: { ...record, seconds: 0, samplesPerSec: 1.08e11 } });
    expect(instant).not.toContain('samples/s');
    expect(epochLine(epoch as Extract<ProgressEvent, { type: 'epoch' }>)).toContain('1,000 samples/s');
  });

  it('history entries carry the training accuracy', () => {
    expect(historyForReport([record])[0]).toMatchObject({ trainLoss: 0.25, trainAccuracy: 0.9, valLoss: 0.3, valAccuracy: 0.875 });
  });
});

import { DataError, isPlainObject, type EpochRecord, type JsonObject } from '@gradmesh/shared/internal';
import type { ConfusionView } from './feed-message.js';
import { RunFeed } from './run-feed.js';

/**
 * A feed holding a finished run, rebuilt from its report (`--report`): epochs, the test evaluation with its
 * confusion matrix, per-worker step times, the config. Reports carry no per-step curve, so the step charts
 * show one point per epoch.
 */
export function feedFromReport(report: unknown, file: string): RunFeed {
  if (!isPlainObject(report) || !Array.isArray(report['history'])) throw new DataError(file, 'is not a gradmesh run report (no "history" list)');
  const r = report;
  const num = (v: unknown, fallback = 0) => (typeof v === 'number' ? v : fallback);
  const feed = new RunFeed();
  const history = (r['history'] as unknown[]).filter(isPlainObject);
  const epochs = num(r['epochs'], history.length);
  const world = num(r['workers'], 1);
  feed.setInfo({
    run: typeof r['model'] === 'string' ? r['model'] : 'run',
    name: typeof r['model'] === 'string' ? r['model'] : 'run',
    mode: 'report',
    world,
    epochs,
    batchSize: num(r['globalBatchSize']),
    trainCount: 0,
    config: { config: typeof r['config'] === 'string' ? r['config'] : null, dataset: (r['dataset'] ?? null) as JsonObject[string], parameters: num(r['parameters']) },
    modelSummary: `${String(r['modelKind'] ?? '')} model, ${num(r['parameters']).toLocaleString('en-US')} parameters, backend ${String(r['backend'] ?? '?')}`,
  });
  const steps = num(r['steps']);
  history.forEach((h, i) => {
    const record: EpochRecord = {
      epoch: num(h['epoch'], i + 1),
      trainLoss: num(h['trainLoss'], Number.NaN),
      trainAccuracy: typeof h['trainAccuracy'] === 'number' ? h['trainAccuracy'] : null,
      valLoss: typeof h['valLoss'] === 'number' ? h['valLoss'] : null,
      valAccuracy: typeof h['valAccuracy'] === 'number' ? h['valAccuracy'] : null,
      seconds: num(h['seconds']),
      learningRate: num(h['learningRate']),
      samplesPerSec: num(h['samplesPerSec']),
      extras: {},
    };
    feed.progress({ type: 'batch', epoch: i, epochs, batch: 1, batches: 1, loss: record.trainLoss, samplesPerSec: record.samplesPerSec || num(r['trainSamplesPerSec']), etaSeconds: 0, step: -1, samples: 0 });
    feed.progress({ type: 'epoch', record, epochs, etaSeconds: 0, stoppedEarly: false });
  });
  const perWorker = Array.isArray(r['perWorker']) ? (r['perWorker'] as unknown[]).filter(isPlainObject) : [];
  if (perWorker.length > 0) {
    feed.event({ time: Date.now(), kind: 'generation', generation: 1, worker: null, step: null, detail: `${perWorker.length} ranks`, ranks: perWorker.map((w, i) => ({ rank: num(w['rank'], i), worker: String(w['workerId'] ?? w['worker'] ?? `rank-${i}`) })) });
    feed.history.apply({
      type: 'workers',
      workers: perWorker.map((w, i) => ({ rank: num(w['rank'], i), worker: String(w['workerId'] ?? w['worker'] ?? `rank-${i}`), health: 'ok' as const, steps: num(w['steps'], steps), computeMs: num(w['computeSeconds']) * 1000, allreduceMs: num(w['allreduceSeconds']) * 1000, waitMs: num(w['waitSeconds']) * 1000, lastStepMs: null })),
    });
  }
  const confusion = confusionOf(r['confusionMatrix']);
  if (typeof r['testLoss'] === 'number') {
    feed.history.apply({ type: 'evaluation', evaluation: { split: 'test', step: steps, loss: r['testLoss'], accuracy: typeof r['testAccuracy'] === 'number' ? r['testAccuracy'] : null, count: 0, confusion, time: Date.now() } });
  }
  feed.setState('completed');
  return feed;
}

/** The report's `confusionMatrix`: counts[actual][predicted], classes labelled by index. */
function confusionOf(value: unknown): ConfusionView | null {
  if (Array.isArray(value) && value.every(Array.isArray)) return { labels: value.map((_, i) => String(i)), counts: value.map((row) => (row as unknown[]).map(Number)) };
  if (!isPlainObject(value)) return null;
  const labels = value['labels'];
  const counts = value['counts'] ?? value['matrix'];
  if (!Array.isArray(labels) || !Array.isArray(counts)) return null;
  return { labels: labels.map(String), counts: counts.map((row) => (Array.isArray(row) ? row.map(Number) : [])) };
}

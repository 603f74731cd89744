import type { ProgressEvent } from '@gradmesh/shared/internal';
import type { Logger } from './log/logger.js';

/**
 * Prints training progress: a live line on a terminal (updated at most 4×/s), and one line per
 * epoch always (loss, validation, samples/s, ETA) — readable in CI logs too.
 */
export function progressPrinter(out: NodeJS.WriteStream = process.stderr): (event: ProgressEvent) => void {
  const live = out.isTTY === true;
  let lastDraw = 0;
  return (event) => {
    if (event.type === 'batch') {
      if (!live) return;
      const now = Date.now();
      if (now - lastDraw < 250 && event.batch !== event.batches) return;
      lastDraw = now;
      const width = 24;
      const filled = Math.round((event.batch / event.batches) * width);
      out.write(
        `\r  epoch ${event.epoch + 1}/${event.epochs} [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${event.batch}/${event.batches}` +
          `  loss ${event.loss.toFixed(4)}  ${Math.round(event.samplesPerSec).toLocaleString('en-US')} samples/s  ETA ${formatSeconds(event.etaSeconds)}   `,
      );
      return;
    }
    if (live) out.write('\r\x1b[2K');
    out.write(`${progressLine(event)}\n`);
  };
}

type LoggedProgress = Exclude<ProgressEvent, { type: 'batch' }>;

/** The line of an epoch, a checkpoint or a skipped step (the live batch line is the terminal's only). */
export function progressLine(event: LoggedProgress): string {
  if (event.type === 'skipped') {
    const who = event.ranks.length === 0 ? 'the summed gradient overflowed' : `non-finite gradient on rank${event.ranks.length > 1 ? 's' : ''} ${event.ranks.join(', ')}`;
    return `  step ${event.step} skipped: ${who} (${event.consecutive} in a row)`;
  }
  if (event.type === 'checkpoint') return `  checkpoint ${event.path} (step ${event.step})`;
  const r = event.record;
  const parts = [`epoch ${r.epoch}/${event.epochs}`, `loss ${r.trainLoss.toFixed(4)}`];
  if (r.trainAccuracy !== null) parts.push(`acc ${(r.trainAccuracy * 100).toFixed(2)}%`);
  if (r.valLoss !== null) parts.push(`val_loss ${r.valLoss.toFixed(4)}`);
  if (r.valAccuracy !== null) parts.push(`val_acc ${(r.valAccuracy * 100).toFixed(2)}%`);
  for (const [k, v] of Object.entries(r.extras)) parts.push(`${k} ${v.toFixed(4)}`);
  parts.push(`${Math.round(r.samplesPerSec).toLocaleString('en-US')} samples/s`, `${r.seconds.toFixed(1)}s`);
  if (!event.stoppedEarly && r.epoch < event.epochs) parts.push(`ETA ${formatSeconds(event.etaSeconds)}`);
  if (event.stoppedEarly) parts.push('(early stop)');
  return parts.join('  ');
}

/**
 * Progress through a logger: the terminal printer in the text format (byte for byte what it always printed),
 * one event per epoch, checkpoint and skipped step in the json format (Note [one line per event]).
 */
export function progressReporter(log: Logger): (event: ProgressEvent) => void {
  if (log.format === 'text') return progressPrinter();
  return (event) => {
    if (event.type === 'batch') return;
    const line = progressLine(event).trim();
    if (event.type === 'skipped') log.warn(line, { event: 'step-skipped', step: event.step, ranks: event.ranks, consecutive: event.consecutive });
    else if (event.type === 'checkpoint') log.info(line, { event: 'checkpoint', step: event.step, path: event.path });
    else {
      const r = event.record;
      log.info(line, {
        event: 'epoch', epoch: r.epoch, epochs: event.epochs, loss: r.trainLoss, accuracy: r.trainAccuracy, valLoss: r.valLoss, valAccuracy: r.valAccuracy,
        ...r.extras, learningRate: r.learningRate, samplesPerSec: r.samplesPerSec, seconds: r.seconds, etaSeconds: event.etaSeconds, stoppedEarly: event.stoppedEarly,
      });
    }
  };
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

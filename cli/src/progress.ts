import type { ProgressEvent } from '@gradmesh/shared/internal';
import type { Logger } from './log/logger.js';

export interface ProgressOptions {
  /** Print nothing but warnings (a skipped step): no batch, epoch or checkpoint lines (`--quiet`). */
  readonly quiet?: boolean;
  /** The clock, for tests. */
  readonly now?: () => number;
}

/** A terminal's live line is redrawn at most this often. */
export const LIVE_EVERY_MS = 500;
/** Without a terminal (a log file, CI, a pipe) a plain progress line within an epoch at most this often. */
export const PLAIN_EVERY_MS = 10_000;

/**
 * Prints training progress: within an epoch a live line on a terminal (redrawn every ~0.5 s) or, when
 * the output is a file or a pipe, a plain line every ~10 s — so a slow epoch (the CNN's first takes
 * 40 s) is never silent in a log; then one line per epoch always (loss, validation, samples/s, ETA).
 *
 * Note [one naming scheme]: the epoch line prints each figure under the name the report's `history` and
 * the config use for it — trainLoss, trainAccuracy, valLoss, valAccuracy — so what a user reads is what
 * `training.earlyStopping.monitor` accepts and what a report reader finds (the json log format too).
 */
export function progressPrinter(out: NodeJS.WriteStream = process.stderr, options: ProgressOptions = {}): (event: ProgressEvent) => void {
  const live = out.isTTY === true;
  const now = options.now ?? Date.now;
  const every = live ? LIVE_EVERY_MS : PLAIN_EVERY_MS;
  // A terminal shows the first batch at once; a log gets its first line after one interval.
  let lastDraw = live ? -Infinity : now();
  let drawn = false;
  return (event) => {
    if (event.type === 'batch') {
      if (options.quiet) return;
      const t = now();
      if (t - lastDraw < every && !(live && event.batch === event.batches)) return;
      lastDraw = t;
      const figures = `${event.batch}/${event.batches}  trainLoss ${event.loss.toFixed(4)}  ${Math.round(event.samplesPerSec).toLocaleString('en-US')} samples/s  ETA ${formatSeconds(event.etaSeconds)}`;
      if (live) {
        const width = 24;
        const filled = Math.round((event.batch / event.batches) * width);
        out.write(`\r  epoch ${event.epoch + 1}/${event.epochs} [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${figures}   `);
        drawn = true;
      } else {
        out.write(`  epoch ${event.epoch + 1}/${event.epochs}  batch ${figures}\n`);
      }
      return;
    }
    if (options.quiet && event.type !== 'skipped') return;
    if (drawn) {
      out.write('\r\x1b[2K');
      drawn = false;
    }
    out.write(`${progressLine(event)}\n`);
    // The next epoch's plain lines count from its own start.
    if (!live && event.type === 'epoch') lastDraw = now();
  };
}

type LoggedProgress = Exclude<ProgressEvent, { type: 'batch' }>;

/** The line of an epoch, a checkpoint or a skipped step (the batch lines are the printer's only). */
export function progressLine(event: LoggedProgress): string {
  if (event.type === 'skipped') {
    const who = event.ranks.length === 0 ? 'the summed gradient overflowed' : `non-finite gradient on rank${event.ranks.length > 1 ? 's' : ''} ${event.ranks.join(', ')}`;
    return `  step ${event.step} skipped: ${who} (${event.consecutive} in a row)`;
  }
  if (event.type === 'checkpoint') return `  checkpoint ${event.path} (step ${event.step})`;
  return epochLine(event);
}

/** The one line per epoch, its figures named as in the report's history (Note [one naming scheme]). */
export function epochLine(event: Extract<ProgressEvent, { type: 'epoch' }>): string {
  const r = event.record;
  const parts = [`epoch ${r.epoch}/${event.epochs}`, `trainLoss ${r.trainLoss.toFixed(4)}`];
  if (r.trainAccuracy !== null) parts.push(`trainAccuracy ${(r.trainAccuracy * 100).toFixed(2)}%`);
  if (r.valLoss !== null) parts.push(`valLoss ${r.valLoss.toFixed(4)}`);
  if (r.valAccuracy !== null) parts.push(`valAccuracy ${(r.valAccuracy * 100).toFixed(2)}%`);
  for (const [k, v] of Object.entries(r.extras)) parts.push(`${k} ${v.toFixed(4)}`);
  // An epoch shorter than the clock's millisecond (a tiny CSV) has no measurable rate: show none rather than 1e11.
  if (r.seconds > 0) parts.push(`${Math.round(r.samplesPerSec).toLocaleString('en-US')} samples/s`);
  parts.push(`${r.seconds.toFixed(1)}s`);
  if (!event.stoppedEarly && r.epoch < event.epochs) parts.push(`ETA ${formatSeconds(event.etaSeconds)}`);
  if (event.stoppedEarly) parts.push('(early stop)');
  return parts.join('  ');
}

/**
 * Progress through a logger: the terminal printer in the text format, one event per epoch, checkpoint and
 * skipped step in the json format (Note [one line per event]); `quiet` keeps only the skipped steps.
 */
export function progressReporter(log: Logger, options: ProgressOptions = {}): (event: ProgressEvent) => void {
  if (log.format === 'text') return progressPrinter(process.stderr, options);
  return (event) => {
    if (event.type === 'batch') return;
    if (options.quiet && event.type !== 'skipped') return;
    const line = progressLine(event).trim();
    if (event.type === 'skipped') log.warn(line, { event: 'step-skipped', step: event.step, ranks: event.ranks, consecutive: event.consecutive });
    else if (event.type === 'checkpoint') log.info(line, { event: 'checkpoint', step: event.step, path: event.path });
    else {
      const r = event.record;
      log.info(line, {
        event: 'epoch', epoch: r.epoch, epochs: event.epochs, trainLoss: r.trainLoss, trainAccuracy: r.trainAccuracy, valLoss: r.valLoss, valAccuracy: r.valAccuracy,
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

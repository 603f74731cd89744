import type { ProgressEvent } from '@gradmesh/shared/internal';

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
    if (event.type === 'skipped') {
      const who = event.ranks.length === 0 ? 'the summed gradient overflowed' : `non-finite gradient on rank${event.ranks.length > 1 ? 's' : ''} ${event.ranks.join(', ')}`;
      out.write(`  step ${event.step} skipped: ${who} (${event.consecutive} in a row)\n`);
      return;
    }
    if (event.type === 'checkpoint') {
      out.write(`  checkpoint ${event.path} (step ${event.step})\n`);
      return;
    }
    const r = event.record;
    const parts = [`epoch ${r.epoch}/${event.epochs}`, `loss ${r.trainLoss.toFixed(4)}`];
    if (r.trainAccuracy !== null) parts.push(`acc ${(r.trainAccuracy * 100).toFixed(2)}%`);
    if (r.valLoss !== null) parts.push(`val_loss ${r.valLoss.toFixed(4)}`);
    if (r.valAccuracy !== null) parts.push(`val_acc ${(r.valAccuracy * 100).toFixed(2)}%`);
    for (const [k, v] of Object.entries(r.extras)) parts.push(`${k} ${v.toFixed(4)}`);
    parts.push(`${Math.round(r.samplesPerSec).toLocaleString('en-US')} samples/s`, `${r.seconds.toFixed(1)}s`);
    if (!event.stoppedEarly && r.epoch < event.epochs) parts.push(`ETA ${formatSeconds(event.etaSeconds)}`);
    if (event.stoppedEarly) parts.push('(early stop)');
    out.write(`${parts.join('  ')}\n`);
  };
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

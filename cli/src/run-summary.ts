import { writeJsonAtomic, type ConfusionMatrix, type RunConfig, type RunReport, type SkippedStep } from '@gradmesh/shared/internal';
import { createLogger, type Logger } from './log/logger.js';

/** Report and console pieces shared by `gradmesh train` and the cluster commands. */

export function describeDataset(config: RunConfig): string {
  const d = config.dataset;
  if (typeof d === 'string') return d;
  if (d && typeof d === 'object' && !Array.isArray(d)) {
    const train = d['train'];
    if (typeof train === 'string') return `${String(d['format'])}:${train}`;
    if (train && typeof train === 'object' && !Array.isArray(train)) return `${String(d['format'])}:${String(train['images'])}`;
  }
  return 'custom';
}

/** The report's NaN/Inf guard fields: how many steps were skipped, and which (with the ranks that reported a non-finite gradient). */
export function skippedFields(skips: readonly SkippedStep[]): Pick<RunReport, 'skippedSteps' | 'skipped'> {
  return { skippedSteps: skips.length, skipped: skips.map((k) => ({ step: k.step, ranks: [...k.ranks] })) };
}

export function printResult(r: RunReport, steps: number): void {
  const parts = [`test loss ${r.testLoss.toFixed(4)}`];
  if (r.testAccuracy !== null) parts.unshift(`test accuracy ${(r.testAccuracy * 100).toFixed(2)}%`);
  if (r.testMae !== undefined) parts.unshift(`test MAE ${formatMetric(r.testMae)}  RMSE ${formatMetric(r.testRmse!)}  R² ${r.testR2 === null || r.testR2 === undefined ? 'n/a' : r.testR2.toFixed(4)}`);
  if (r.testReconstructionMse !== undefined) parts.push(`reconstruction MSE ${r.testReconstructionMse.toFixed(5)}/pixel`);
  if (r.testNegElbo !== undefined) parts.push(`−ELBO ${r.testNegElbo.toFixed(2)} nats (KL ${r.testKl?.toFixed(2)}, reconstruction ${r.testReconstruction?.toFixed(2)})`);
  if (r.skippedSteps) parts.push(`${r.skippedSteps} step${r.skippedSteps > 1 ? 's' : ''} skipped (non-finite gradient)`);
  process.stdout.write(`${parts.join('  ')}  —  ${steps} steps, ${Math.round(r.trainSamplesPerSec).toLocaleString('en-US')} samples/s, ${r.wallSeconds.toFixed(1)}s wall\n`);
}

/** The end of a successful run, for `train` and the coordinator alike: the test confusion matrix, then the report file. */
export async function finishRun(report: RunReport, confusion: ConfusionMatrix | null | undefined, reportPath: string | undefined, log: Logger = createLogger({ format: 'text', role: 'gradmesh' })): Promise<void> {
  if (confusion) log.info(confusion.format(report.classNames), { event: 'confusion-matrix' });
  if (reportPath) {
    await writeJsonAtomic(reportPath, report);
    log.info(`report written to ${reportPath}`, { event: 'report-written', path: reportPath });
  }
}

/** A regression error in the target's own unit: 4 significant digits, whatever its scale. */
export function formatMetric(v: number): string {
  return Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : String(v);
}

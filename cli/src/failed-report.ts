import { GradmeshError, writeJsonAtomic } from '@gradmesh/shared/internal';

/**
 * The report of a cluster run that did not complete: `status: "failed"` and the error, so a tool waiting for the
 * report learns the outcome instead of finding no file (or an older run's). A completed run's report has
 * `status: "completed"` and every field of cluster-report.ts.
 */
export interface FailedReport {
  readonly status: 'failed';
  readonly runId: string;
  readonly config: string;
  readonly workers: number;
  readonly error: string;
  readonly wallSeconds: number;
  readonly finishedAt: string;
}

export function describeError(error: unknown): string {
  if (error instanceof GradmeshError) return `${error.name}: ${error.message}`;
  return String((error as Error)?.message ?? error);
}

export async function writeFailedReport(file: string, fields: Omit<FailedReport, 'status' | 'finishedAt'>): Promise<void> {
  const report: FailedReport = { status: 'failed', ...fields, finishedAt: new Date().toISOString() };
  await writeJsonAtomic(file, report);
}

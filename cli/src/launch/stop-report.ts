import { LAUNCHER_IPC_ENV } from './parent-watch.js';

/**
 * Where a coordinator started by `gradmesh launch` stopped before its run's end (--max-steps, a signal), sent
 * to the launcher over the IPC channel of Note [children watch the launcher]. The coordinator cannot say how
 * to resume a launch (it does not know the launch's flags, and with launch's own nats-server a `nats` store
 * ends with the launch); the launcher can, so it prints the stop line.
 */
export interface StopReport {
  readonly kind: 'gradmesh-stopped';
  readonly reason: string;
  readonly step: number;
  /** Where the checkpoint to resume from is; undefined: nothing is resumable (`whyNothing`). */
  readonly checkpoint: string | undefined;
  readonly whyNothing: string;
}

/** Sends `stop` to the launcher when this process has one; returns false (nothing sent) otherwise. */
export async function reportStopToLauncher(stop: Omit<StopReport, 'kind'>): Promise<boolean> {
  const send = process.send?.bind(process);
  if (process.env[LAUNCHER_IPC_ENV] !== '1' || send === undefined || !process.connected) return false;
  const report: StopReport = { kind: 'gradmesh-stopped', ...stop };
  return new Promise((resolve) => {
    send(report, undefined, {}, (error) => resolve(error === null || error === undefined));
  });
}

/** The stop report in an IPC message, or undefined for anything else (the channel carries nothing else today). */
export function parseStopReport(message: unknown): StopReport | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const m = message as Record<string, unknown>;
  if (m['kind'] !== 'gradmesh-stopped' || typeof m['reason'] !== 'string' || typeof m['step'] !== 'number' || typeof m['whyNothing'] !== 'string') return undefined;
  if (m['checkpoint'] !== undefined && typeof m['checkpoint'] !== 'string') return undefined;
  return { kind: 'gradmesh-stopped', reason: m['reason'], step: m['step'], checkpoint: m['checkpoint'] as string | undefined, whyNothing: m['whyNothing'] };
}

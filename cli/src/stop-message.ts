import type { TrainingStop } from '@gradmesh/shared/internal';

/**
 * What a run that stopped before its end tells the user: the step, why, the checkpoint written there and the
 * exact command that continues it — or that nothing is resumable and why. One line, so that a script (or a
 * test) can take the command from it.
 */
export function stopMessage(stop: Pick<TrainingStop, 'reason' | 'step' | 'checkpoint'>, resume: readonly string[] | undefined, whyNothing: string): string {
  const head = `stopped at step ${stop.step} (${stop.reason})`;
  if (stop.checkpoint === undefined || resume === undefined) return `${head}; nothing is resumable: ${whyNothing}`;
  return `${head}; checkpoint ${stop.checkpoint}; resume with: ${commandLine(resume)}`;
}

/** `gradmesh …args`, each argument quoted for a POSIX shell when it needs it. */
export function commandLine(args: readonly string[]): string {
  return ['gradmesh', ...args].map(shellQuote).join(' ');
}

export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

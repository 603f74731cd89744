/**
 * SIGINT/SIGTERM for a process that trains: the first signal asks the training loop to stop at the next step
 * boundary (it writes a checkpoint there, Note [a checkpoint at every stop] in
 * shared/src/train/loop/training-loop.ts); a second one exits at once, as a terminal user expects of a second
 * Ctrl-C.
 */
export interface StopSignals {
  /** The signal received first, or undefined: what the loop's `stopRequested` asks. */
  readonly requested: () => string | undefined;
  /** Removes the handlers (the default behaviour of both signals returns). */
  dispose(): void;
}

/** The exit code of a process stopped by `signal`, by the shell's convention (128 + the signal's number). */
export function signalExitCode(signal: string): number {
  return signal === 'SIGTERM' ? 143 : 130;
}

export function stopOnSignals(log: (line: string) => void, what: string, checkpointing: boolean): StopSignals {
  let received: string | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received !== undefined) {
      log(`${what}: ${signal} again: stopping at once${checkpointing ? ', without the checkpoint' : ''}`);
      process.exit(signalExitCode(signal));
    }
    received = signal;
    log(`${what}: ${signal}: stopping at the next step boundary${checkpointing ? ' after writing a checkpoint' : ''} (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to stop at once)`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    requested: () => received,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

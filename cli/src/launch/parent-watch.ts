/**
 * Note [children watch the launcher]: `gradmesh launch` starts the coordinator and the workers each in its own
 * process group (so a terminal's Ctrl-C reaches only the launcher, which then stops the run in order), with an
 * IPC channel and GRADMESH_LAUNCHER_IPC=1. Nothing is sent on the channel; it exists for its end: when the
 * launcher dies — even by SIGKILL, which leaves it no chance to clean up — the operating system closes it and
 * Node emits `disconnect` in the child. The child then stops as on SIGTERM (the coordinator tells the workers
 * to shut down; a worker reports that it stops) and exits at the latest `graceMs` later. An IPC channel rather
 * than polling the parent pid: it is immediate, costs nothing while the launcher lives, and cannot be fooled
 * by a reused pid. nats-server cannot do this; it runs under a watchdog instead (transport/src/nats-server/watchdog.ts).
 */
export const LAUNCHER_IPC_ENV = 'GRADMESH_LAUNCHER_IPC';

/** Calls `onLost` once when the launcher that started this process goes away; returns the unwatch function. */
export function watchLauncher(onLost: () => void, graceMs = 5_000): () => void {
  if (process.env[LAUNCHER_IPC_ENV] !== '1' || process.send === undefined) return () => undefined;
  // The channel must not keep this process alive once its work is done.
  process.channel?.unref();
  const lost = () => {
    onLost();
    setTimeout(() => process.exit(1), graceMs).unref();
  };
  if (!process.connected) {
    lost();
    return () => undefined;
  }
  process.once('disconnect', lost);
  return () => process.off('disconnect', lost);
}

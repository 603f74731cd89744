/**
 * Whether a cluster process is ready for its part of the run, and if not, why — what `/readyz` answers
 * (cli/src/health). A worker is ready once it holds a rank of the current generation and has told the
 * coordinator so; the coordinator once the run has formed (its first generation started) until it ends.
 */
export interface Readiness {
  readonly ready: boolean;
  /** One short line: what it is waiting for, or what it is doing. */
  readonly reason: string;
}

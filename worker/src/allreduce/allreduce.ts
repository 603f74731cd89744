/**
 * The collective every worker calls once per step: sum `data` element-wise across all ranks of the run, in
 * place. Implementations guarantee bitwise-identical results on every rank (a fixed summation order), so the
 * replicas that apply the same optimizer step to it stay identical.
 */
export interface AllReduceTimings {
  /** Wall time of the call, ms. */
  readonly totalMs: number;
  /** When this rank's own chunk was fully reduced and published, ms after the call started (0 if it owns none). */
  readonly ownChunkMs: number;
  /** Payload + header bytes this rank published / received during the call. */
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

export interface AllReduce {
  /**
   * Sums `data` in place across the ranks. Every rank calls it with the same `step` (strictly increasing per
   * instance) and a vector of the same length. Rejects with ClusterError when the step cannot complete
   * (missing ranks after the timeout, a lost connection, `close()`).
   */
  allReduce(step: number, data: Float32Array): Promise<AllReduceTimings>;
  /** Releases subscriptions; a pending call rejects. Does not close the NATS connection (the caller owns it). */
  close(): Promise<void>;
}

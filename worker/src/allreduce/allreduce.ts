/** A running all-reduce whose buckets the caller releases as their values become final. */
export interface AllReduceStep {
  /** Buckets of the vector's layout (1 without buckets). */
  readonly bucketCount: number;
  /** Bucket `bucket` (0, 1, … in order) is final: send it. Throws on an index out of order or range. */
  release(bucket: number): void;
  /** Abandons the step (the caller's computation failed): `done` rejects. */
  cancel(reason: string): void;
  /**
   * Settles when bucket `bucket`'s summed values are all in the vector on this rank and no send of this rank still
   * reads them (the caller may then use and change them); rejects when the step fails.
   */
  reduced(bucket: number): Promise<void>;
  /** Settles when every bucket is summed (or the step fails). Awaiting it is the caller's duty. */
  readonly done: Promise<AllReduceTimings>;
}

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
  /**
   * The same sum, bucket by bucket: the step starts now with nothing released, and each bucket of the vector goes
   * out once the caller releases it (in order), so communication overlaps the computation of the rest. The
   * result is bitwise the one of `allReduce` (every element is summed over the ranks in rank order either way).
   */
  begin(step: number, data: Float32Array): AllReduceStep;
  /** Releases subscriptions; a pending call rejects. Does not close the NATS connection (the caller owns it). */
  close(): Promise<void>;
}

/**
 * The JetStream buckets of a run. Run ids are 1–64 characters of A–Z, a–z, 0–9, "_" and "-" (validateRunId),
 * which is also what bucket names allow, so the run id is used as it is.
 */
export function checkpointBucket(runId: string): string {
  return `gradmesh-${runId}-checkpoints`;
}

export function runStateBucket(runId: string): string {
  return `gradmesh-${runId}-state`;
}

export function workersBucket(runId: string): string {
  return `gradmesh-${runId}-workers`;
}

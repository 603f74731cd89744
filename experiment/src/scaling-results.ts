import { z } from 'zod';

/**
 * The contract between `gradmesh experiment scaling` (which measures) and `gradmesh experiment simulate`
 * (which calibrates its model from the measurements): `results.json`.
 *
 * Note [Results are measurements, not summaries of a model]: every figure here was observed on real
 * processes (times from the workers' step breakdown, bytes from interface counters or NATS monitoring);
 * the simulator derives its parameters from them and never writes into this file.
 */

/** Median and 90th percentile of a per-step quantity, in seconds. */
export const Quantiles = z.object({ median: z.number().nonnegative(), p90: z.number().nonnegative() }).strict();

export const Topology = z.enum(['hub', 'per-host']);
export type Topology = z.infer<typeof Topology>;

/** A host link: its rate (bits/s; null = unshaped) and a one-way delay (seconds; 0 when none is emulated). */
export const LinkSpec = z.object({ rateBitsPerSec: z.number().positive().nullable(), delaySeconds: z.number().nonnegative() }).strict();
export type LinkSpec = z.infer<typeof LinkSpec>;

/** Bytes one host's interface moved during the measured steps (after warm-up). */
export const LinkBytes = z.object({ host: z.string().min(1), txBytes: z.number().nonnegative(), rxBytes: z.number().nonnegative() }).strict();

export const ScalingRun = z
  .object({
    workers: z.number().int().positive(),
    topology: Topology,
    link: LinkSpec,
    /** 'netns' when every process ran in its own network namespace behind a shaped veth; 'loopback' otherwise. */
    network: z.enum(['netns', 'loopback']),
    warmupSteps: z.number().int().nonnegative(),
    steps: z.number().int().positive(),
    globalBatchSize: z.number().int().positive(),
    threadsPerWorker: z.number().int().positive(),
    samplesPerSec: z.number().nonnegative(),
    stepSeconds: Quantiles,
    computeSeconds: Quantiles,
    allreduceSeconds: Quantiles,
    /** The part of the all-reduce after compute ended (absent in results from before overlap = allreduceSeconds). */
    exposedAllreduceSeconds: Quantiles.optional(),
    waitSeconds: Quantiles,
    /** Per host (worker hosts and server hosts), bytes moved in the measured steps. */
    linkBytes: z.array(LinkBytes),
    /** CPU seconds per role over the measured steps (e.g. { worker: …, coordinator: …, 'nats-server': … }). */
    cpuSecondsPerRole: z.record(z.string(), z.number().nonnegative()),
  })
  .strict();
export type ScalingRun = z.infer<typeof ScalingRun>;

export const ScalingResults = z
  .object({
    version: z.literal(1),
    createdAt: z.string(),
    config: z.string(),
    /**
     * Parameter count and the bytes of one full gradient (float32). Optional `allreduceBytes`: the bytes one
     * gradient takes on the wire when the config compresses the all-reduce (training.allreduce.compression
     * bf16 | fp16: half); absent means gradientBytes.
     */
    model: z
      .object({
        parameters: z.number().int().positive(),
        gradientBytes: z.number().int().positive(),
        allreduceBytes: z.number().int().positive().optional(),
        /** training.allreduce.transport of the config; absent (results from before 2026-12-01) means "nats". */
        transport: z.enum(['nats', 'direct']).optional(),
      })
      .strict(),
    machine: z.object({ cpus: z.number().int().positive(), cpuModel: z.string(), node: z.string() }).strict(),
    /** cpu-probe style load reading taken before the runs: parallel capacity ≈ how many cores were free. */
    load: z.object({ parallelCapacity: z.number().nonnegative() }).passthrough(),
    runs: z.array(ScalingRun),
  })
  .strict();
export type ScalingResults = z.infer<typeof ScalingResults>;
/** How the runs' gradient pieces travelled (results.model.transport). */
export type AllreduceTransport = 'nats' | 'direct';

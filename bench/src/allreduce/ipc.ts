import type { Compression } from '@gradmesh/shared/internal';

/** Messages between the all-reduce benchmark (parent) and its child processes, over the fork IPC channel. */

export type ChildInit =
  | { readonly type: 'init'; readonly role: 'allreduce'; readonly url: string; readonly runId: string; readonly rank: number; readonly worldSize: number; readonly elements: number; readonly compression: Compression }
  /** Single-stream reference: `publisher` sends `totalBytes` in `messageBytes` messages to `subscriber`. */
  | { readonly type: 'init'; readonly role: 'publisher' | 'subscriber'; readonly url: string; readonly subject: string; readonly totalBytes: number; readonly messageBytes: number };

export type ParentCommand =
  | ChildInit
  /** allreduce: reset the vector to this rank's input and all-reduce it as `step`; publisher: send everything. */
  | { readonly type: 'run'; readonly step: number }
  /** allreduce: report a hash of the result's bits (replicas must agree). */
  | { readonly type: 'checksum' }
  /** Report the CPU time this process used so far. */
  | { readonly type: 'cpu' }
  | { readonly type: 'exit' };

export type ChildReply =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly step: number; readonly ms: number }
  | { readonly type: 'received'; readonly bytes: number }
  | { readonly type: 'checksum'; readonly value: string }
  /** User + system CPU time since the process started, in ms. */
  | { readonly type: 'cpu'; readonly ms: number }
  | { readonly type: 'failed'; readonly message: string };

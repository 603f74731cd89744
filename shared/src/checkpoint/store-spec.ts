import path from 'node:path';
import { ConfigError } from '../errors.js';

/**
 * Which checkpoint store a cluster run uses, as given on the command line: `nats` (a JetStream Object Store
 * bucket of the run, @gradmesh/transport) or `dir:<path>` (a directory, DirectoryCheckpointStore).
 */
export type CheckpointStoreSpec = { readonly kind: 'nats' } | { readonly kind: 'dir'; readonly dir: string };

export const CHECKPOINT_STORE_KINDS = ['nats', 'dir'] as const;
export type CheckpointStoreKind = (typeof CHECKPOINT_STORE_KINDS)[number];

/** `--checkpoint-store nats | dir:<path>` (the path resolved against the working directory). */
export function parseCheckpointStoreSpec(value: string, flag = '--checkpoint-store'): CheckpointStoreSpec {
  if (value === 'nats') return { kind: 'nats' };
  if (value.startsWith('dir:') && value.length > 'dir:'.length) return { kind: 'dir', dir: path.resolve(value.slice('dir:'.length)) };
  throw new ConfigError(flag, 'must be "nats" or "dir:<path>"', { value, hint: 'e.g. --checkpoint-store nats, or --checkpoint-store dir:ckpt' });
}

/**
 * The store selected by `--checkpoint-store` and the older `--checkpoint-dir D` (= `dir:D`); both at once is
 * refused. Undefined: no checkpoints.
 */
export function checkpointStoreFromFlags(store: string | undefined, dir: string | undefined): CheckpointStoreSpec | undefined {
  if (store !== undefined && dir !== undefined) throw new ConfigError('--checkpoint-dir', 'cannot be combined with --checkpoint-store', { hint: '--checkpoint-dir D is short for --checkpoint-store dir:D; give one of them' });
  if (store !== undefined) return parseCheckpointStoreSpec(store);
  if (dir !== undefined) return { kind: 'dir', dir: path.resolve(dir) };
  return undefined;
}

export function describeStoreSpec(spec: CheckpointStoreSpec): string {
  return spec.kind === 'nats' ? 'nats' : `dir:${spec.dir}`;
}

/**
 * Checkpoint file names: `ckpt-<step>.safetensors` with the step zero-padded to 10 digits, so a
 * directory listing sorts in training order. Larger steps simply get more digits; readers parse
 * the number, so ordering never depends on the padding.
 */
import { InternalError } from '../errors.js';

const PATTERN = /^ckpt-(\d+)\.safetensors$/;
const PAD = 10;

export function checkpointFileName(step: number): string {
  if (!Number.isSafeInteger(step) || step < 0) throw new InternalError(`checkpointFileName: step must be a non-negative integer, got ${step}`);
  return `ckpt-${String(step).padStart(PAD, '0')}.safetensors`;
}

/** The step of a checkpoint file name, or undefined for any other file (temporaries included). */
export function parseCheckpointStep(fileName: string): number | undefined {
  const m = PATTERN.exec(fileName);
  if (!m) return undefined;
  const step = Number(m[1]);
  return Number.isSafeInteger(step) ? step : undefined;
}

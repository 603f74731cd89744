import { readFile } from 'node:fs/promises';
import { DataError } from '@gradmesh/shared/internal';
import { ScalingResults } from '../scaling-results.js';

/** Reads and checks a results.json of `gradmesh experiment scaling`; DataError names the file and the first bad field. */
export async function readScalingResults(file: string): Promise<ScalingResults> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new DataError(file, `cannot be read (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`, { hint: 'pass the results.json written by `gradmesh experiment scaling --out <dir>`', cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new DataError(file, `is not JSON: ${(cause as Error).message}`, { cause });
  }
  const parsed = ScalingResults.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '(top level)' : issue.path.join('.');
    throw new DataError(file, `${where}: ${issue?.message ?? 'does not match the results.json schema'}`, { hint: 'is it a results.json of `gradmesh experiment scaling` (version 1)?' });
  }
  return parsed.data;
}

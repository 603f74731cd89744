import { readFileSync } from 'node:fs';
import { DataError } from '../errors.js';

/**
 * The bytes of a data file, or a DataError that names the path and says what to check. Every
 * loader reads through here so a wrong path fails the same clear way.
 */
export function readDataFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    if (code === 'ENOENT') {
      throw new DataError(path, 'file not found', {
        cause,
        hint: "check the config's `dataset` field; relative paths resolve against the config file's directory",
      });
    }
    if (code === 'EISDIR') throw new DataError(path, 'is a directory, expected a data file', { cause, hint: "check the config's `dataset` field" });
    throw new DataError(path, `cannot be read (${code === undefined ? String(cause) : String(code)})`, { cause });
  }
}

import { accessSync, constants, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';

/**
 * Output paths, checked before the run so that a wrong one fails in a second instead of after the
 * training it was meant to record. Nothing is created here: a missing folder is created by the writer,
 * so a path is fine when its nearest existing ancestor is a writable directory.
 */

/**
 * `--report <file>`: not an existing directory, not the config file (writing the report there
 * would replace the config), and creatable.
 */
export function checkReportPath(file: string, flag: string, configFile: string | undefined): void {
  const resolved = path.resolve(file);
  const stats = statOrUndefined(resolved);
  if (stats?.isDirectory()) {
    throw new ConfigError(flag, 'names an existing directory; the report is one JSON file', { value: file, hint: `e.g. ${flag} ${path.join(file, 'report.json')}` });
  }
  if (configFile !== undefined && stats !== undefined && sameFile(resolved, configFile)) {
    throw new ConfigError(flag, 'names the config file itself; writing the report would replace the config', { value: file, hint: 'give the report its own file name, e.g. report.json' });
  }
  if (stats !== undefined && !stats.isFile()) throw new ConfigError(flag, 'names something that is not a regular file', { value: file });
  checkCreatable(resolved, flag, file);
}

/** `--checkpoint-dir <dir>`: a directory or nothing yet (not a file), creatable. */
export function checkCheckpointDir(dir: string, flag: string): void {
  const resolved = path.resolve(dir);
  const stats = statOrUndefined(resolved);
  if (stats !== undefined && !stats.isDirectory()) {
    throw new ConfigError(flag, 'names an existing file; checkpoints go into a directory', { value: dir, hint: 'give a directory (it is created if missing)' });
  }
  if (stats !== undefined) {
    if (!writable(resolved)) throw new ConfigError(flag, 'is a directory this user cannot write to', { value: dir });
    return;
  }
  checkCreatable(resolved, flag, dir);
}

/** The nearest existing ancestor of `resolved` must be a writable directory (the writer creates the rest). */
function checkCreatable(resolved: string, flag: string, written: string): void {
  let ancestor = path.dirname(resolved);
  for (;;) {
    const stats = statOrUndefined(ancestor);
    if (stats !== undefined) {
      if (!stats.isDirectory()) throw new ConfigError(flag, `cannot be created: ${ancestor} is a file, not a directory`, { value: written });
      if (!writable(ancestor)) throw new ConfigError(flag, `cannot be created: this user cannot write to ${ancestor}`, { value: written });
      return;
    }
    const parent = path.dirname(ancestor);
    if (parent === ancestor) return;
    ancestor = parent;
  }
}

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function sameFile(a: string, b: string): boolean {
  const sa = statOrUndefined(a), sb = statOrUndefined(path.resolve(b));
  return sa !== undefined && sb !== undefined && sa.dev === sb.dev && sa.ino === sb.ino;
}

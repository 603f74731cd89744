import path from 'node:path';
import type { RunConfig, RunReport } from '@gradmesh/shared/internal';
import { gradmeshVersion } from './version.js';

/**
 * What a report says about where it came from: the gradmesh version that wrote it and the config's absolute
 * path (`config` stays the path as given, relative to the working directory, for older readers).
 */
export function reportIdentity(config: RunConfig): Pick<RunReport, 'gradmeshVersion' | 'configPath'> {
  return { gradmeshVersion: gradmeshVersion(), configPath: path.resolve(config.file) };
}

/** The class names of the report, when the data named its classes (string CSV labels). */
export function classNamesField(classNames: readonly string[] | undefined): Pick<RunReport, 'classNames'> {
  return classNames === undefined ? {} : { classNames: [...classNames] };
}

import { readFileSync } from 'node:fs';

/**
 * gradmesh's version: the `version` of the repository's package.json (the one `npm link` installs as the
 * `gradmesh` command). Read once, from the file next to the compiled CLI (cli/dist → ../../package.json),
 * so it cannot drift from what was released.
 */
export function gradmeshVersion(): string {
  cached ??= readVersion();
  return cached;
}

let cached: string | undefined;

function readVersion(): string {
  const json = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof json.version === 'string' ? json.version : 'unknown';
}

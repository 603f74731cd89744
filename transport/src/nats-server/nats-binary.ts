import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '@gradmesh/shared/internal';

/**
 * Finds the nats-server binary `gradmesh launch` starts: `--nats-server <path>`, else GRADMESH_NATS_SERVER,
 * else `nats-server` on PATH. Checked up front so that a missing binary is one clear line, not a spawn ENOENT.
 */
export function resolveNatsServer(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const wanted = flag ?? env['GRADMESH_NATS_SERVER'] ?? 'nats-server';
  const source = flag !== undefined ? '--nats-server' : env['GRADMESH_NATS_SERVER'] !== undefined ? 'GRADMESH_NATS_SERVER' : 'PATH';
  const candidates = wanted.includes('/') ? [wanted] : (env['PATH'] ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, wanted));
  for (const c of candidates) if (executable(c)) return c;
  throw new ConfigError(source === 'PATH' ? '--nats-server' : source, `nats-server not found (${source === 'PATH' ? `no "${wanted}" on PATH` : `"${wanted}" is not an executable file`})`, {
    hint: 'install it: apt-get install nats-server — or pass --nats-server <path>, set GRADMESH_NATS_SERVER, or give --nats <url> of a running server',
  });
}

function executable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

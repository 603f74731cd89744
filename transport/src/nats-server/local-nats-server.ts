import { spawn, type ChildProcess } from 'node:child_process';
import { connect as tcpConnect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ClusterError } from '@gradmesh/shared/internal';

/**
 * A nats-server child process on 127.0.0.1 and a free port, for commands that need a server and were given no
 * URL (`gradmesh launch`, `gradmesh bench allreduce`). The binary is `binary` (see `resolveNatsServer`), else
 * GRADMESH_NATS_SERVER, else `nats-server` from PATH.
 */
export interface LocalNatsServer {
  readonly url: string;
  readonly version: string;
  /** Process id of the server (for CPU accounting). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export interface LocalNatsServerOptions {
  /** Enable JetStream with its store in this directory (the caller owns and removes it). */
  readonly jetStreamDir?: string;
  /** Run the server under a watchdog that stops it when this process dies, even by SIGKILL (watchdog.ts). */
  readonly watchParent?: boolean;
  /** With `watchParent`: a directory the watchdog removes once the server has exited. */
  readonly removeOnExit?: string;
  /** A nats-server config file (e.g. launch's authorization block); the listen address and port stay ours. */
  readonly configFile?: string;
}

/** The compiled watchdog next to this file (in dist/), also when this module is loaded from src/ (tests). */
const WATCHDOG = fileURLToPath(new URL(import.meta.url.includes('/src/') ? '../../dist/nats-server/watchdog.js' : './watchdog.js', import.meta.url));

export async function startLocalNatsServer(binary?: string, options: LocalNatsServerOptions = {}): Promise<LocalNatsServer> {
  const bin = binary ?? process.env['GRADMESH_NATS_SERVER'] ?? 'nats-server';
  let last = '';
  // The probed free port can be taken before nats-server binds it; retry on an early exit.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const args = [...(options.configFile === undefined ? [] : ['-c', options.configFile]), '-a', '127.0.0.1', '-p', String(port), ...(options.jetStreamDir === undefined ? [] : ['-js', '-sd', options.jetStreamDir])];
    const child: ChildProcess = options.watchParent
      ? spawn(process.execPath, [WATCHDOG, bin, ...args], {
          stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
          env: { ...process.env, ...(options.removeOnExit === undefined ? {} : { GRADMESH_WATCHDOG_REMOVE: options.removeOnExit }) },
        })
      : spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let serverPid = options.watchParent ? undefined : child.pid;
    if (options.watchParent) {
      child.on('message', (m: unknown) => {
        if (typeof m === 'object' && m !== null && typeof (m as { pid?: unknown }).pid === 'number') serverPid = (m as { pid: number }).pid;
      });
      // Our end of the channel must not keep this process alive either.
      child.channel?.unref();
    }
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    let exit: string | undefined;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exit = `exited with ${signal ?? code}`;
        resolve();
      });
      child.once('error', (e) => {
        exit = e.message;
        resolve();
      });
    });
    const deadline = Date.now() + 10_000;
    while (exit === undefined && Date.now() < deadline) {
      if (await accepts(port)) {
        const version = /Version:\s+(\S+)/.exec(stderr)?.[1] ?? 'unknown';
        return {
          url: `nats://127.0.0.1:${port}`,
          version,
          get pid() {
            return serverPid;
          },
          async stop() {
            if (exit !== undefined) return;
            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
            await exited;
            clearTimeout(timer);
          },
        };
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    if (exit === undefined) child.kill('SIGKILL');
    last = exit === undefined ? 'no connection within 10 s' : `${exit}: ${stderr.trim()}`;
  }
  throw new ClusterError(`could not start ${bin} on 127.0.0.1 (${last})`, { hint: 'install nats-server (apt-get install -y nats-server), pass its path, or give a NATS URL' });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect as tcpConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real NATS server for integration tests, on 127.0.0.1 only.
 *
 * With a reachable Docker engine it runs the image `GRADMESH_NATS_IMAGE` (default `nats:2.10`; build a local one
 * from the Debian binary with `deploy/nats-image/build.sh`) through testcontainers, with Ryuk disabled (it
 * cannot run everywhere; `stop()` removes the container). Without one it spawns `nats-server` (from PATH, or
 * `GRADMESH_NATS_SERVER`) bound to 127.0.0.1 on a free port. Either way it logs one line saying which.
 * JetStream is on either way (the run's checkpoint and state buckets need it).
 * If Docker is reachable but the container cannot start (an image neither local nor pullable), it falls back to
 * spawning and says so in that line. `GRADMESH_NATS_VIA=spawn|testcontainers` (or `options.via`) forces a way.
 */
export interface StartNatsOptions {
  /** Server `max_payload` in bytes (default: the server's 1 MiB). */
  readonly maxPayload?: number;
  /** Force a way instead of detecting Docker. */
  readonly via?: 'auto' | 'spawn' | 'testcontainers';
  /** Where the one line goes (default console.log). */
  readonly log?: (line: string) => void;
}

export interface NatsHandle {
  readonly url: string;
  readonly via: 'testcontainers' | 'spawn';
  stop(): Promise<void>;
}

export async function startNats(options: StartNatsOptions = {}): Promise<NatsHandle> {
  const log = options.log ?? ((line: string) => console.log(line));
  const forced = options.via ?? (process.env['GRADMESH_NATS_VIA'] as StartNatsOptions['via']) ?? 'auto';
  if (forced === 'spawn') return logged(await spawnServer(options), 'spawned nats-server (GRADMESH_NATS_VIA=spawn)', log);
  if (forced === 'testcontainers') return logged(await startContainer(options), `testcontainers, image ${image()}`, log);
  if (!(await dockerReachable())) return logged(await spawnServer(options), 'spawned nats-server (no Docker engine reachable)', log);
  try {
    return logged(await startContainer(options), `testcontainers, image ${image()}`, log);
  } catch (error) {
    // Typically an image that is neither local nor pullable (an offline machine): the binary still works.
    const why = ((error as Error).message ?? String(error)).split('\n')[0];
    return logged(await spawnServer(options), `spawned nats-server (Docker is reachable but image ${image()} failed: ${why}; build one with deploy/nats-image/build.sh)`, log);
  }
}

function logged(handle: NatsHandle, how: string, log: (line: string) => void): NatsHandle {
  log(`nats: ${how} at ${handle.url}`);
  return handle;
}

function image(): string {
  return process.env['GRADMESH_NATS_IMAGE'] ?? 'nats:2.10';
}

function configText(listen: string, maxPayload: number | undefined): string {
  return `listen: ${listen}\n${maxPayload === undefined ? '' : `max_payload: ${maxPayload}\n`}`;
}

/**
 * Docker is used only through a local unix socket (DOCKER_HOST=unix://… or /var/run/docker.sock) that answers
 * `GET /_ping` within 500 ms; a TCP DOCKER_HOST is used only if it points at 127.0.0.1/localhost.
 */
async function dockerReachable(): Promise<boolean> {
  const host = process.env['DOCKER_HOST'];
  let target: { socketPath: string } | { host: string; port: number };
  if (host === undefined || host.startsWith('unix://')) {
    target = { socketPath: host === undefined ? '/var/run/docker.sock' : host.slice('unix://'.length) };
  } else {
    const m = /^tcp:\/\/(127\.0\.0\.1|localhost):(\d+)$/.exec(host);
    if (m === null) return false;
    target = { host: '127.0.0.1', port: Number(m[2]) };
  }
  return new Promise((resolve) => {
    const req = request({ ...target, path: '/_ping', method: 'GET', timeout: 500 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

async function startContainer(options: StartNatsOptions): Promise<NatsHandle> {
  // Must be set before testcontainers reads its config, i.e. before the first container starts.
  process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(image())
    .withCopyContentToContainer([{ content: configText('0.0.0.0:4222', options.maxPayload), target: '/gradmesh-nats.conf' }])
    .withCommand(['-c', '/gradmesh-nats.conf', '-js', '-sd', '/tmp/jetstream'])
    .withExposedPorts(4222)
    // A log line, not a port probe: the locally imported image has no shell for testcontainers' port check.
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
    .withStartupTimeout(30_000)
    .start();
  const url = `nats://127.0.0.1:${container.getMappedPort(4222)}`;
  return {
    url,
    via: 'testcontainers',
    async stop() {
      await container.stop({ timeout: 2_000 });
    },
  };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function spawnServer(options: StartNatsOptions): Promise<NatsHandle> {
  const binary = process.env['GRADMESH_NATS_SERVER'] ?? 'nats-server';
  const dir = mkdtempSync(join(tmpdir(), 'gradmesh-nats-'));
  let lastError = '';
  // The free port may be taken between the probe and the bind; retry a few times on early exit.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const conf = join(dir, 'nats.conf');
    writeFileSync(conf, configText(`127.0.0.1:${port}`, options.maxPayload));
    // JetStream on, its store inside the server's temp directory (removed by stop()).
    const child = spawn(binary, ['-c', conf, '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'jetstream')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => resolve(`exited (${signal ?? code})`));
      child.once('error', (e) => resolve(e.message));
    });
    let exitReason: string | undefined;
    void exited.then((r) => (exitReason = r));
    const deadline = Date.now() + 10_000;
    while (exitReason === undefined && Date.now() < deadline) {
      if (await accepts(port)) return spawnedHandle(child, port, exited, dir);
      await new Promise((r) => setTimeout(r, 10));
    }
    if (exitReason === undefined) {
      child.kill('SIGKILL');
      lastError = 'did not accept connections within 10 s';
    } else {
      lastError = `${exitReason}: ${stderr.trim()}`;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`could not start ${binary} on 127.0.0.1: ${lastError} (install it with apt-get install -y nats-server, or set GRADMESH_NATS_SERVER)`);
}

function spawnedHandle(child: ChildProcess, port: number, exited: Promise<string>, dir: string): NatsHandle {
  return {
    url: `nats://127.0.0.1:${port}`,
    via: 'spawn',
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

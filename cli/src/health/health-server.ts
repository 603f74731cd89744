import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ConfigError, type Readiness } from '@gradmesh/shared/internal';

export interface HealthAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Note [health endpoints]
 * What Kubernetes' kubelet (or any supervisor) probes, on `--health-port`:
 * - `/healthz` (liveness): 200 while the process runs. The event loop answering IS the check: a loop that is
 *   blocked cannot answer, and the probe's timeout fails it (training runs in pool threads, so the main loop
 *   stays free while a step computes). The body reports the loop's recent delay for diagnosis.
 * - `/readyz` (readiness): 200 when the role is ready (shared/src/monitor/readiness.ts), else 503; the JSON
 *   body says why either way.
 * Nothing else is served (404), nothing is read from the request but its method and path, and nothing of the
 * run's configuration or credentials is in an answer. The server listens on 0.0.0.0 by default because the
 * kubelet probes the pod's IP; it is unauthenticated, so it shows only these two bits.
 */
export class HealthServer {
  readonly #http: http.Server;
  readonly #host: string;
  readonly #delay: ReturnType<typeof monitorEventLoopDelay>;

  private constructor(server: http.Server, host: string, delay: ReturnType<typeof monitorEventLoopDelay>) {
    this.#http = server;
    this.#host = host;
    this.#delay = delay;
  }

  /** Listens on `address`; a port that cannot be bound is a ConfigError naming `flag`. */
  static async start(address: HealthAddress, readiness: () => Readiness, flag = '--health-port'): Promise<HealthServer> {
    const delay = monitorEventLoopDelay({ resolution: 20 });
    delay.enable();
    const server = http.createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const send = (status: number, body: object) => {
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : `${JSON.stringify(body)}\n`);
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { error: 'GET or HEAD only' });
      if (path === '/healthz') {
        const body = { status: 'alive', eventLoopDelayMs: { mean: round(delay.mean / 1e6), max: round(delay.max / 1e6) } };
        delay.reset();
        return send(200, body);
      }
      if (path === '/readyz') {
        const r = readiness();
        return send(r.ready ? 200 : 503, { ready: r.ready, reason: r.reason });
      }
      return send(404, { error: 'not found; the endpoints are /healthz and /readyz' });
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(address.port, address.host, () => resolve());
      });
    } catch (cause) {
      delay.disable();
      throw new ConfigError(flag, `cannot listen on ${address.host}:${address.port} (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`, { hint: 'choose a free port' });
    }
    // Probes must not keep a finished process alive.
    server.unref();
    return new HealthServer(server, address.host, delay);
  }

  get address(): HealthAddress {
    return { host: this.#host, port: (this.#http.address() as AddressInfo).port };
  }

  async close(): Promise<void> {
    this.#delay.disable();
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }
}

function round(ms: number): number {
  return Number.isFinite(ms) ? Math.round(ms * 10) / 10 : 0;
}

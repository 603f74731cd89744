import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ListenAddress } from '../listen-address.js';

/** Serves `registry` at `/metrics` in the Prometheus text format; nothing else. */
export class MetricsServer {
  readonly #http: http.Server;
  readonly #host: string;

  private constructor(server: http.Server, host: string) {
    this.#http = server;
    this.#host = host;
  }

  static async start(registry: Registry, address: ListenAddress): Promise<MetricsServer> {
    const server = http.createServer((req, res) => {
      if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://x').pathname !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('metrics are at /metrics\n');
        return;
      }
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(error as Error)?.message ?? String(error)}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => resolve());
    });
    return new MetricsServer(server, address.host);
  }

  get address(): { host: string; port: number } {
    return { host: this.#host, port: (this.#http.address() as AddressInfo).port };
  }

  async close(): Promise<void> {
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }
}

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { FeedMessage, HistoryMessage } from '../feed/feed-message.js';
import type { RunFeed } from '../feed/run-feed.js';
import type { ListenAddress } from '../listen-address.js';
import { originAllowed } from './origin.js';
import { loadPageAssets } from './page-assets.js';
import { Viewer, type ViewerDropReason } from './viewer.js';

export interface DashboardServerOptions {
  readonly feed: RunFeed;
  readonly address: ListenAddress;
  /** Extra origins allowed to open the WebSocket (`*`: any); by default only the page's own. */
  readonly allowOrigins?: readonly string[];
  readonly maxViewers?: number;
  /** Bytes a viewer may have queued before it is dropped (Note [a slow viewer never slows training]). */
  readonly maxQueuedBytes?: number;
  /** How often step points and worker totals go out (they are coalesced in between). */
  readonly flushMs?: number;
  /** Called for each dropped viewer (metrics count them). */
  readonly onViewerDropped?: (reason: ViewerDropReason) => void;
}

/** No message a viewer receives is larger (the history is bounded well below it). */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** The WebSocket is read-only: a frame from a viewer larger than this is refused by ws itself. */
const MAX_INCOMING_BYTES = 1024;

/**
 * Serves the dashboard page at `/` and the run's feed at `/ws`: a viewer gets the bounded history first, then
 * every update. Step points and worker totals — one per step — are coalesced and sent every `flushMs`; other
 * messages (epochs, evaluations, events) go out at once, after the pending points, so order is kept. Each
 * message is serialized once for all viewers.
 */
export class DashboardServer {
  readonly #o: DashboardServerOptions;
  readonly #http: http.Server;
  readonly #wss: WebSocketServer;
  readonly #viewers = new Set<Viewer>();
  readonly #unsubscribe: () => void;
  #pendingPoints: FeedMessage[] = [];
  #workersDirty = false;
  #timer: NodeJS.Timeout | undefined;
  readonly dropped = new Map<ViewerDropReason, number>();

  private constructor(options: DashboardServerOptions, server: http.Server) {
    this.#o = options;
    this.#http = server;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_INCOMING_BYTES, perMessageDeflate: false });
    this.#unsubscribe = options.feed.subscribe((m) => this.#onMessage(m));
  }

  static async start(options: DashboardServerOptions): Promise<DashboardServer> {
    const assets = loadPageAssets();
    const server = http.createServer((req, res) => {
      const asset = req.method === 'GET' || req.method === 'HEAD' ? assets.get(new URL(req.url ?? '/', 'http://x').pathname) : undefined;
      if (asset === undefined) {
        res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      res.writeHead(200, {
        'content-type': asset.contentType,
        'content-length': asset.body.length,
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        // Only our own scripts and our own WebSocket: the page renders run data, never remote content.
        'content-security-policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'",
      });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
    });
    const dashboard = new DashboardServer(options, server);
    server.on('upgrade', (req, socket, head) => dashboard.#upgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.address.port, options.address.host, () => resolve());
    });
    return dashboard;
  }

  /** Where it listens (the port is the real one when 0 was asked for). */
  get address(): { host: string; port: number } {
    const a = this.#http.address() as AddressInfo;
    return { host: this.#o.address.host, port: a.port };
  }

  get viewerCount(): number {
    return this.#viewers.size;
  }

  async close(): Promise<void> {
    this.#flush();
    clearTimeout(this.#timer);
    this.#unsubscribe();
    for (const v of this.#viewers) v.drop('slow', 1001, 'the run has ended');
    this.#wss.close();
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  #upgrade(req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): void {
    const reject = (status: number, reason: ViewerDropReason) => {
      this.#countDrop(reason);
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/ws') return reject(404, 'origin');
    if (!originAllowed(req.headers.origin, req.headers.host, this.#o.allowOrigins)) return reject(403, 'origin');
    if (this.#viewers.size >= (this.#o.maxViewers ?? 64)) return reject(503, 'too-many');
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#welcome(ws));
  }

  #welcome(ws: WebSocket): void {
    const viewer = new Viewer(ws, { maxQueuedBytes: this.#o.maxQueuedBytes ?? 1024 * 1024, onDrop: (reason) => this.#countDrop(reason) });
    // Pending points are already in the history: send them to the others first, so this viewer gets them once.
    this.#flush();
    const history: HistoryMessage = { type: 'history', messages: this.#o.feed.history.messages() };
    this.#viewers.add(viewer);
    ws.on('close', () => this.#viewers.delete(viewer));
    viewer.send(JSON.stringify(history));
  }

  #onMessage(m: FeedMessage): void {
    if (m.type === 'steps') {
      this.#pendingPoints.push(m);
    } else if (m.type === 'stepTimed') {
      this.#workersDirty = true;
    } else {
      this.#flush();
      this.#broadcast(JSON.stringify(m));
      return;
    }
    this.#timer ??= setTimeout(() => this.#flush(), this.#o.flushMs ?? 250).unref();
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pendingPoints.length > 0) {
      const points = this.#pendingPoints.flatMap((m) => (m.type === 'steps' ? m.points : []));
      this.#pendingPoints = [];
      this.#broadcast(JSON.stringify({ type: 'steps', points }));
    }
    if (this.#workersDirty) {
      this.#workersDirty = false;
      this.#broadcast(JSON.stringify({ type: 'workers', workers: this.#o.feed.history.workers() }));
    }
  }

  #broadcast(json: string): void {
    if (this.#viewers.size === 0) return;
    if (json.length > MAX_MESSAGE_BYTES) return this.#countDrop('oversize');
    for (const v of this.#viewers) v.send(json);
  }

  #countDrop(reason: ViewerDropReason): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
    this.#o.onViewerDropped?.(reason);
  }
}

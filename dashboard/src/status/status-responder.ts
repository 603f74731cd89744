import { encodeRunStatus, statusSubject } from '@gradmesh/shared/internal';
import { connectNats, type NatsCredentials } from '@gradmesh/transport';
import type { RunHistory } from '../feed/run-history.js';

/**
 * Answers `gradmesh status` for a run (Note [status over NATS] in shared/src/protocol/status.ts) from the
 * feed's history, on a NATS connection of its own: the coordinator's connection and channel stay untouched,
 * and a status request never competes with the run's control traffic for a handler.
 */
export class StatusResponder {
  readonly #close: () => Promise<void>;

  private constructor(close: () => Promise<void>) {
    this.#close = close;
  }

  static async start(options: { natsUrl: string; runId: string; history: RunHistory; credentials?: NatsCredentials | undefined }): Promise<StatusResponder> {
    const nc = await connectNats(options.natsUrl, 'gradmesh-status', options.credentials);
    nc.subscribe(statusSubject(options.runId), {
      callback: (error, msg) => {
        if (error === null) msg.respond(encodeRunStatus(options.history.status(options.runId)));
      },
    });
    await nc.flush();
    return new StatusResponder(() => nc.close().catch(() => undefined));
  }

  close(): Promise<void> {
    return this.#close();
  }
}

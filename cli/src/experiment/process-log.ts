import { createWriteStream, type WriteStream } from 'node:fs';
import { Writable } from 'node:stream';

/**
 * Where an experiment's processes write: every `[name] line` the ChildGroup forwards goes to the combination's
 * log file, and the runner can wait for a line of a given process (nats-server's "Server is ready", its
 * routes). The terminal only gets the runner's own progress lines.
 */
export class ProcessLog extends Writable {
  readonly file: string;
  readonly #out: WriteStream;
  readonly #lines = new Map<string, string[]>();
  readonly #waiters: { name: string; test: (lines: readonly string[]) => boolean; resolve: () => void }[] = [];
  #pending = '';
  #closed = false;

  constructor(file: string) {
    super();
    this.file = file;
    this.#out = createWriteStream(file, { flags: 'a' });
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    // A child's last lines can arrive after the combination closed its log: they are dropped.
    if (this.#closed) return done();
    const text = this.#pending + chunk.toString();
    const lines = text.split('\n');
    this.#pending = lines.pop()!;
    for (const line of lines) {
      const m = /^\[([^\]]+)\] (.*)$/.exec(line);
      if (m) {
        const list = this.#lines.get(m[1]!) ?? [];
        list.push(m[2]!);
        if (list.length > 2000) list.splice(0, 1000);
        this.#lines.set(m[1]!, list);
      }
    }
    for (const w of [...this.#waiters]) {
      if (w.test(this.#lines.get(w.name) ?? [])) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve();
      }
    }
    this.#out.write(chunk, () => done());
  }

  /** Resolves true once `test` holds for the process's lines so far, false after `ms`. */
  until(name: string, test: (lines: readonly string[]) => boolean, ms: number): Promise<boolean> {
    if (test(this.#lines.get(name) ?? [])) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { name, test, resolve: () => (clearTimeout(timer), resolve(true)) };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        resolve(false);
      }, ms);
      this.#waiters.push(waiter);
    });
  }

  /** The last lines a process wrote (for an error message). */
  tail(name: string, count = 5): string {
    return (this.#lines.get(name) ?? []).slice(-count).join(' | ');
  }

  close(): Promise<void> {
    this.#closed = true;
    return new Promise((resolve) => this.#out.end(resolve));
  }
}

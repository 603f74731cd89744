import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { LAUNCHER_IPC_ENV } from './parent-watch.js';

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly exited: Promise<ChildExit>;
  running(): boolean;
}

/**
 * The processes `gradmesh launch` starts, with their output forwarded line by line under a `[name]` prefix
 * (stdout to stdout, stderr to stderr). Each child is its own process group (`detached`), so a Ctrl-C in the
 * terminal reaches only the launcher, which then shuts the run down in order (coordinator first, which tells
 * the workers); `killAll` is the last resort, and runs on the launcher's own exit so nothing is orphaned.
 * Each child also holds an IPC channel to the launcher, so that it stops when the launcher dies without
 * running any of this (Note [children watch the launcher] in parent-watch.ts).
 */
export class ChildGroup {
  readonly children: Child[] = [];
  readonly #out: NodeJS.WritableStream;
  readonly #err: NodeJS.WritableStream;
  readonly #onExit = () => this.killAll('SIGKILL');

  constructor(out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr) {
    this.#out = out;
    this.#err = err;
    process.on('exit', this.#onExit);
  }

  spawn(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Child {
    const proc = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true, env: { ...env, [LAUNCHER_IPC_ENV]: '1' } });
    // Our end of the channel must not keep the launcher alive.
    proc.channel?.unref();
    const exited = new Promise<ChildExit>((resolve) => {
      proc.once('exit', (code, signal) => resolve({ code, signal }));
      proc.once('error', (error) => {
        this.#err.write(`[${name}] could not start: ${error.message}\n`);
        resolve({ code: 127, signal: null });
      });
    });
    for (const [stream, sink] of [[proc.stdout, this.#out], [proc.stderr, this.#err]] as const) {
      if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => sink.write(`[${name}] ${line}\n`));
    }
    const child: Child = { name, process: proc, exited, running: () => proc.exitCode === null && proc.signalCode === null };
    this.children.push(child);
    return child;
  }

  signal(child: Child, signal: NodeJS.Signals): void {
    if (child.running()) child.process.kill(signal);
  }

  killAll(signal: NodeJS.Signals): void {
    for (const c of this.children) this.signal(c, signal);
  }

  /**
   * Waits up to `ms` for every child to exit, then SIGKILLs the rest and waits until each has been reaped, so
   * that when this returns no child is running (or a zombie).
   */
  async settle(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const all = Promise.all(this.children.map((c) => c.exited));
    await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
    if (this.children.some((c) => c.running())) {
      this.killAll('SIGKILL');
      await all;
    }
  }

  /** The children other than `child` that are still running. */
  others(child: Child): Child[] {
    return this.children.filter((c) => c !== child && c.running());
  }

  dispose(): void {
    process.off('exit', this.#onExit);
  }
}

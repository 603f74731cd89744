/**
 * `node watchdog.js <nats-server> <args…>`: runs nats-server as its child and stops it when the process that
 * started this watchdog goes away — even by SIGKILL, which leaves it no chance to clean up.
 *
 * Note [nats-server watchdog]: nats-server cannot watch its parent, and a launcher killed with -9 would leave it
 * running for ever (it is in its own process group, so a terminal's Ctrl-C does not reach it either). This
 * watchdog holds an IPC channel to the launcher; the operating system closes that channel when the launcher
 * dies, Node reports `disconnect`, and the watchdog stops the server (SIGTERM, SIGKILL after 5 s) and exits.
 * A SIGTERM/SIGINT to the watchdog is forwarded the same way; when the server exits on its own, so does the
 * watchdog, with its code. The server's stderr is the watchdog's (the caller reads the version from it), and
 * its pid is sent over the channel once it is known. GRADMESH_WATCHDOG_REMOVE names a directory (the launch's
 * temporary directory, which holds the server's JetStream store) to remove once the server has exited: a
 * launcher killed with -9 cannot remove it itself.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

const [binary, ...args] = process.argv.slice(2);
if (binary === undefined || process.send === undefined) {
  process.stderr.write('nats-server watchdog: start it with an IPC channel and the nats-server binary as the first argument\n');
  process.exit(2);
}
const server = spawn(binary, args, { stdio: ['ignore', 'ignore', 'inherit'] });
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
  setTimeout(() => server.kill('SIGKILL'), 5_000).unref();
};
server.once('spawn', () => process.send?.({ pid: server.pid }));
server.once('error', (error) => {
  process.stderr.write(`nats-server watchdog: ${error.message}\n`);
  process.exit(127);
});
const removeOnExit = process.env['GRADMESH_WATCHDOG_REMOVE'];
server.once('exit', (code, signal) => {
  if (removeOnExit) rmSync(removeOnExit, { recursive: true, force: true });
  process.exit(code ?? (signal === 'SIGTERM' ? 0 : 1));
});
process.on('disconnect', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The channel must not keep this process alive by itself; the server child does.
process.channel?.unref();

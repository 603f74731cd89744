import { createConnection, createServer, type Socket } from 'node:net';

/**
 * Note [user-buffer reads on accepted sockets]
 * By default Node reads a socket into a new 64 KiB buffer per read and emits it as 'data': at 1 GB/s that is
 * 16 000 fresh off-heap buffers a second, which V8 answers with scavenges and mark-compacts for "external memory
 * pressure" (the cost socket-reads.ts removes from the NATS path), plus a copy of every byte into its frame.
 * Node's `onread` option ({ buffer: () => Uint8Array, callback }) reads instead into buffers the caller hands out,
 * one per read, chosen just before the read — so a read can land straight in the frame it belongs to (Note
 * [reads into the frame]). The option is public for sockets a process creates (net.connect), but a server's
 * accepted sockets are created by Node without it, and the receiving end of a link is an accepted socket.
 *
 * `readIntoUserBuffers` therefore sets on an accepted socket the three slots the option fills (the socket's
 * symbol-keyed `kBuffer`, `kBufferCb`, `kBufferGen`) and points its handle at the first buffer
 * (`_handle.useUserBuffer`): after that, Node's own read path (onStreamRead, Node 20–22) asks `kBufferGen` for each
 * next buffer and calls `kBufferCb(nread, buffer)`, exactly as for a socket made with `onread`. Before the first
 * switch a self-test runs it over a real loopback connection (bytes in pieces, buffers of changing sizes, pause and
 * resume, EOF); if anything differs, links read through 'data' events (correct, only slower) and
 * `userBufferReadsStatus()` says why. `GRADMESH_LINK_READS=data` turns it off. Measured in the transport README
 * ("Direct links").
 */

/** Where a socket's reads go: asked for a buffer before each read, told how much landed in it after. */
export interface ReadTarget {
  nextReadBuffer(): Uint8Array;
  pushRead(nread: number, buffer: Uint8Array): void;
}

let status: 'not-checked' | 'available' | string = 'not-checked';
let checking: Promise<boolean> | undefined;

/** Whether accepted sockets read into user buffers (`available`), or why not (after the first check). */
export function userBufferReadsStatus(): string {
  return status;
}

/** Runs the self-test once per process; resolves whether `readIntoUserBuffers` may be used. */
export function checkUserBufferReads(): Promise<boolean> {
  if (status !== 'not-checked') return Promise.resolve(status === 'available');
  checking ??= (async () => {
    if (process.env['GRADMESH_LINK_READS'] === 'data') {
      status = "turned off by GRADMESH_LINK_READS=data; links read through 'data' events";
      return false;
    }
    const problem = await selfTest();
    status = problem === undefined ? 'available' : `user-buffer read self-test failed (${problem}); links read through 'data' events`;
    return status === 'available';
  })();
  return checking;
}

function slot(socket: Socket, name: string): symbol | undefined {
  return Object.getOwnPropertySymbols(socket).find((s) => s.description === name);
}

/**
 * Switches `socket`'s reads to the buffers `target` hands out (the note above). Only after checkUserBufferReads()
 * resolved true; returns false, touching nothing, when the socket lacks the slots. 'end', 'close' and 'error'
 * are emitted as before; 'data' no more.
 */
export function readIntoUserBuffers(socket: Socket, target: ReadTarget): boolean {
  if (status !== 'available') return false;
  return switchReads(socket, target);
}

function switchReads(socket: Socket, target: ReadTarget): boolean {
  const kBuffer = slot(socket, 'kBuffer');
  const kBufferCb = slot(socket, 'kBufferCb');
  const kBufferGen = slot(socket, 'kBufferGen');
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (b: Uint8Array) => void } })._handle;
  const record = socket as unknown as Record<symbol, unknown>;
  if (kBuffer === undefined || kBufferCb === undefined || kBufferGen === undefined) return false;
  if (record[kBuffer] !== null || record[kBufferCb] !== null || record[kBufferGen] !== null) return false;
  if (handle === undefined || typeof handle.useUserBuffer !== 'function') return false;
  const first = target.nextReadBuffer();
  record[kBufferCb] = (nread: number, buffer: Uint8Array): void => target.pushRead(nread, buffer);
  record[kBufferGen] = (): Uint8Array => target.nextReadBuffer();
  record[kBuffer] = first;
  handle.useUserBuffer(first);
  return true;
}

/**
 * Note [the user-buffer read self-test]
 * A loopback client writes 200 000 patterned bytes in pieces of changing sizes with pauses (so that there are many
 * reads), and ends. The accepted socket is switched after its first 'data' read; its target hands out buffers of
 * 1, 7, 4096 and 65 536 bytes in turn, views into one large array at moving offsets, and pauses the socket for a
 * moment once. The bytes gathered through the callback must be exactly those sent after the first read, in order,
 * no further 'data' event may arrive, and 'end' must follow.
 */
async function selfTest(): Promise<string | undefined> {
  const server = createServer();
  let client: Socket | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const port = (server.address() as { port: number }).port;
    const sent = new Uint8Array(200_000);
    for (let i = 0; i < sent.length; i++) sent[i] = (i * 131 + (i >>> 9)) & 255;
    const verdict = new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve('timed out'), 5_000);
      server.once('connection', (socket: Socket) => {
        const got: number[] = [];
        let firstRead = 0;
        let dataAfterSwitch = 0;
        const sizes = [1, 7, 4096, 65_536];
        const big = new Uint8Array(1 << 18);
        let turn = 0;
        let paused = false;
        const target: ReadTarget = {
          nextReadBuffer: () => {
            const size = sizes[turn % sizes.length]!;
            const offset = (turn * 977) % (big.length - size);
            turn += 1;
            return big.subarray(offset, offset + size);
          },
          pushRead: (nread, buffer) => {
            for (let i = 0; i < nread; i++) got.push(buffer[i]!);
            if (!paused && got.length > 50_000) {
              paused = true;
              socket.pause();
              setTimeout(() => socket.resume(), 20);
            }
          },
        };
        socket.on('data', (chunk: Buffer) => {
          if (firstRead === 0) {
            firstRead = chunk.byteLength;
            if (!switchReads(socket, target)) {
              clearTimeout(timer);
              resolve('the socket has no user-buffer slots');
            }
          } else dataAfterSwitch += 1;
        });
        socket.on('error', (e) => resolve(e.message));
        socket.on('end', () => {
          clearTimeout(timer);
          const expected = sent.subarray(firstRead);
          if (dataAfterSwitch > 0) resolve(`${dataAfterSwitch} 'data' events after the switch`);
          else if (got.length !== expected.length) resolve(`${got.length} bytes through the callback, expected ${expected.length}`);
          else if (got.some((b, i) => b !== expected[i])) resolve('bytes differ');
          else resolve(undefined);
          socket.destroy();
        });
      });
    });
    client = createConnection(port, '127.0.0.1');
    client.on('error', () => undefined);
    await new Promise((r) => client!.once('connect', r));
    for (let at = 0, i = 0; at < sent.length; i++) {
      const n = Math.min([10, 3000, 70_000, 1][i % 4]!, sent.length - at);
      client.write(sent.subarray(at, at + n));
      at += n;
      await new Promise((r) => setTimeout(r, 1));
    }
    client.end();
    return await verdict;
  } catch (error) {
    return (error as Error).message;
  } finally {
    client?.destroy();
    server.close();
  }
}

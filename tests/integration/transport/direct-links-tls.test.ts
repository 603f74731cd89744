import { afterEach, describe, expect, it } from 'vitest';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dialPeer } from '../../../transport/src/direct-links/dial-peer.js';
import type { IncomingLink } from '../../../transport/src/direct-links/incoming-link.js';
import { LinkError } from '../../../transport/src/direct-links/link-error.js';
import type { LinkIdentity } from '../../../transport/src/direct-links/link-identity.js';
import { identities, openListener, until, type RecordingListener } from './direct-links-harness.js';

/**
 * Encrypted links (Note [encrypted links] in transport/src/direct-links/link-tls.ts): with `encryption: 'tls'` the
 * frames after the handshake travel inside TLS keyed from it. What is checked is what it is for: frames arrive
 * intact; their bytes never appear on the wire (and, as a control, do without TLS); a changed byte on the wire
 * closes the link instead of delivering a changed frame; and a plain end never talks to a TLS end.
 */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tls(ids: LinkIdentity[]): LinkIdentity[] {
  return ids.map((id) => ({ ...id, encryption: 'tls' as const }));
}

async function listenerWith(identity: LinkIdentity): Promise<RecordingListener> {
  const r = await openListener();
  cleanups.push(() => r.listener.close());
  r.listener.accept(identity, (link) => r.links.push(link));
  return r;
}

function collect(link: IncomingLink): { frames: Uint8Array[]; closes: string[] } {
  const got = { frames: [] as Uint8Array[], closes: [] as string[] };
  link.onFrame((f) => got.frames.push(f));
  link.onClose((r) => got.closes.push(r));
  return got;
}

/** 64 KiB that cannot occur by chance: a counter pattern with a marker. */
function marked(i: number, size = 64 << 10): Uint8Array {
  const b = Buffer.alloc(size);
  for (let k = 0; k + 4 <= size; k += 4) b.writeUInt32LE((0x5eed0000 + k + i * 7) >>> 0, k);
  for (let k = size & ~3; k < size; k++) b[k] = (i + k) & 255;
  return b;
}

/**
 * A TCP proxy in front of `target` that records what flows from the dialer to the acceptor and may change one byte
 * of it (at offset `flipAt` of that direction), the way an on-path attacker could.
 */
async function proxy(target: string, flipAt?: number): Promise<{ address: string; forwarded: () => Buffer }> {
  const colon = target.lastIndexOf(':');
  const [host, port] = [target.slice(0, colon), Number(target.slice(colon + 1))];
  const chunks: Buffer[] = [];
  let seen = 0;
  const sockets: Socket[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect({ host, port });
    sockets.push(client, upstream);
    client.on('data', (d: Buffer) => {
      const copy = Buffer.from(d);
      if (flipAt !== undefined && flipAt >= seen && flipAt < seen + copy.byteLength) copy[flipAt - seen] = copy[flipAt - seen]! ^ 0x01;
      seen += copy.byteLength;
      chunks.push(copy);
      upstream.write(copy);
    });
    upstream.on('data', (d: Buffer) => client.write(d));
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { address: `127.0.0.1:${(server.address() as { port: number }).port}`, forwarded: () => Buffer.concat(chunks) };
}

describe('encrypted direct links', () => {
  it('frames of 1 B … 4 MiB arrive intact and in order inside TLS, and every `written` fires', async () => {
    const ids = tls(identities(2));
    const r = await listenerWith(ids[1]!);
    const out = await dialPeer(r.listener.address, ids[0]!, 1, { timeoutMs: 5_000 });
    cleanups.push(() => out.close());
    await until('the incoming link', () => r.links.length === 1);
    const got = collect(r.links[0]!);
    const sizes = [1, 5, 1023, 65_536, 65_537, 1 << 20, 4 << 20, ...Array.from({ length: 500 }, (_, i) => 1 + ((i * 7919) % 3_000))];
    let written = 0;
    sizes.forEach((size, i) => {
      const p = marked(i, size);
      out.send([p.subarray(0, size >> 1), p.subarray(size >> 1)], () => (written += 1));
    });
    await until('every frame', () => got.frames.length === sizes.length, 20_000);
    sizes.forEach((size, i) => expect(Buffer.from(got.frames[i]!).equals(Buffer.from(marked(i, size))), `frame ${i}`).toBe(true));
    await until('every written callback', () => written === sizes.length);
    expect(got.closes).toEqual([]);
  });

  it('the frames’ bytes never appear on the wire with TLS — and do without it (the control)', async () => {
    for (const encrypted of [false, true]) {
      const ids = encrypted ? tls(identities(2)) : identities(2);
      const r = await listenerWith(ids[1]!);
      const p = await proxy(r.listener.address);
      const out = await dialPeer(p.address, ids[0]!, 1, { timeoutMs: 5_000 });
      cleanups.push(() => out.close());
      await until('the incoming link', () => r.links.length === 1);
      const got = collect(r.links[0]!);
      for (let i = 0; i < 8; i++) out.send([marked(i)]);
      await until('the frames', () => got.frames.length === 8);
      const wire = p.forwarded();
      // 64 bytes from the middle of a frame: found in the plain stream, nowhere in the encrypted one.
      const needle = Buffer.from(marked(3)).subarray(30_000, 30_064);
      expect(wire.includes(needle), encrypted ? 'tls' : 'plain').toBe(!encrypted);
    }
  });

  it('a byte changed on the wire inside TLS closes the link; no changed frame is delivered', async () => {
    const ids = tls(identities(2));
    const r = await listenerWith(ids[1]!);
    // Well past the handshakes (< 2 KB), inside the second of four 1 MiB frames.
    const p = await proxy(r.listener.address, 1_500_000);
    const out = await dialPeer(p.address, ids[0]!, 1, { timeoutMs: 5_000 });
    cleanups.push(() => out.close());
    await until('the incoming link', () => r.links.length === 1);
    const got = collect(r.links[0]!);
    for (let i = 0; i < 4; i++) out.send([marked(i, 1 << 20)]);
    await until('the link to close', () => got.closes.length === 1, 10_000);
    expect(got.frames.length).toBeLessThan(4);
    got.frames.forEach((f, i) => expect(Buffer.from(f).equals(Buffer.from(marked(i, 1 << 20))), `frame ${i}`).toBe(true));
    expect(got.closes[0]).toMatch(/^link from rank 0 .*closed: TLS: decryption failed or bad record mac \(ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC\)$/);
  });

  it('a plain dialer and a TLS acceptor (and the reverse) never link: the handshake fails as a wrong MAC', async () => {
    const plain = identities(2);
    const encrypted = plain.map((id) => ({ ...id, encryption: 'tls' as const }));
    for (const [acceptor, dialer] of [[encrypted[1]!, plain[0]!], [plain[1]!, encrypted[0]!]] as const) {
      const r = await listenerWith(acceptor);
      const err = await dialPeer(r.listener.address, dialer, 1, { timeoutMs: 3_000 }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(LinkError);
      expect((err as Error).message).toMatch(/MAC/);
      expect(r.links).toHaveLength(0);
    }
  });
});

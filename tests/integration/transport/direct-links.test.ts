import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { dialPeer } from '../../../transport/src/direct-links/dial-peer.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encodeAcceptorHello, encodeAcceptorReply, HandshakeStatus, newNonce } from '../../../transport/src/direct-links/handshake.js';
import type { IncomingLink } from '../../../transport/src/direct-links/incoming-link.js';
import { LinkError } from '../../../transport/src/direct-links/link-error.js';
import { userBufferReadsStatus } from '../../../transport/src/direct-links/user-buffer-reads.js';
import type { OutgoingLink } from '../../../transport/src/direct-links/outgoing-link.js';
import type { PeerListener } from '../../../transport/src/direct-links/peer-listener.js';
import { freePort, identities, openListener, RawDialer, type RecordingListener, until, wireFrame } from './direct-links-harness.js';

/** Direct links over loopback: real sockets, real handshakes, forged peers from RawDialer. */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listenerFor(...args: Parameters<typeof openListener>): Promise<RecordingListener> {
  const r = await openListener(...args);
  cleanups.push(() => r.listener.close());
  return r;
}

/** Registers `identity` on `r` and records its links; returns the unregister function. */
function acceptInto(r: RecordingListener, identity: Parameters<PeerListener['accept']>[0]): () => void {
  return r.listener.accept(identity, (link) => r.links.push(link));
}

function collect(link: IncomingLink): { frames: Uint8Array[]; closes: string[] } {
  const got = { frames: [] as Uint8Array[], closes: [] as string[] };
  link.onFrame((f) => got.frames.push(f));
  link.onClose((r) => got.closes.push(r));
  return got;
}

async function dial(r: RecordingListener, identity: Parameters<typeof dialPeer>[1], peerRank: number): Promise<OutgoingLink> {
  const link = await dialPeer(r.listener.address, identity, peerRank, { timeoutMs: 3_000 });
  cleanups.push(() => link.close());
  return link;
}

/** A deterministic payload: frame `i` of `size` bytes. */
function payload(i: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  let x = (i * 2654435761) >>> 0 || 1;
  for (let k = 0; k < size; k++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[k] = x & 255;
  }
  return b;
}

describe('direct links: frames', () => {
  it('frames of 1 B … 4 MiB and thousands of small ones arrive intact and in order; parts are concatenated; every `written` fires', async () => {
    const ids = identities(2);
    const r = await listenerFor();
    acceptInto(r, ids[1]!);
    const out = await dial(r, ids[0]!, 1);
    await until('the incoming link', () => r.links.length === 1);
    const got = collect(r.links[0]!);
    const sizes = [1, 2, 3, 4, 5, 1023, 65_535, 65_536, 65_537, 1 << 20, (4 << 20) - 1, 4 << 20];
    for (let i = 0; i < 3_000; i++) sizes.push(1 + ((i * 7919) % 3_000));
    let written = 0;
    sizes.forEach((size, i) => {
      const p = payload(i, size);
      // Split into up to 3 parts (some empty) at places that depend on i.
      const a = (i * 31) % (size + 1);
      const b = a + ((i * 17) % (size - a + 1));
      out.send([p.subarray(0, a), p.subarray(a, b), p.subarray(b)], () => (written += 1));
    });
    await until('every frame', () => got.frames.length === sizes.length, 20_000);
    sizes.forEach((size, i) => {
      const f = got.frames[i]!;
      expect(f.byteOffset).toBe(0);
      expect(f.buffer.byteLength).toBe(size);
      expect(Buffer.from(f.buffer).equals(Buffer.from(payload(i, size)))).toBe(true);
    });
    await until('every written callback', () => written === sizes.length);
    expect(got.closes).toEqual([]);
    // On this Node the accepted socket read straight into the frames (not the slower 'data' fallback), unless asked to.
    if (process.env['GRADMESH_LINK_READS'] !== 'data') expect(userBufferReadsStatus()).toBe('available');
    else expect(userBufferReadsStatus()).toMatch(/turned off/);
  });

  it('frames that arrive before onFrame is set wait for it', async () => {
    const ids = identities(3);
    const r = await listenerFor();
    acceptInto(r, ids[2]!);
    const out = await dial(r, ids[1]!, 2);
    for (let i = 0; i < 5; i++) out.send([Uint8Array.of(i)]);
    await until('the incoming link', () => r.links.length === 1);
    await new Promise((res) => setTimeout(res, 50));
    const got = collect(r.links[0]!);
    await until('five frames', () => got.frames.length === 5);
    expect(got.frames.map((f) => f[0])).toEqual([0, 1, 2, 3, 4]);
    expect(r.links[0]!.peerRank).toBe(1);
  });
});

describe('direct links: handshake refusals', () => {
  it('a wrong secret, stale generation, wrong toRank, out-of-range or duplicate from-rank is refused with a LinkError; good peers keep working', async () => {
    const ids = identities(4, 5);
    const r = await listenerFor();
    acceptInto(r, ids[1]!);
    const good = await dial(r, ids[0]!, 1);

    const attempts: [string, Promise<OutgoingLink>][] = [
      ['the peer rejected our MAC', dialPeer(r.listener.address, { ...ids[2]!, secret: randomBytes(32) }, 1, { timeoutMs: 3_000 })],
      ['does not accept links of this run and generation', dialPeer(r.listener.address, { ...ids[2]!, generation: 4 }, 1, { timeoutMs: 3_000 })],
      ['not the rank we dialled', dialPeer(r.listener.address, ids[2]!, 3, { timeoutMs: 3_000 })],
      ['our rank is out of range', dialPeer(r.listener.address, { ...ids[2]!, rank: 6, worldSize: 8 }, 1, { timeoutMs: 3_000 })],
      ['already has a link from our rank', dialPeer(r.listener.address, ids[0]!, 1, { timeoutMs: 3_000 })],
    ];
    for (const [words, attempt] of attempts) {
      const err = await attempt.then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(LinkError);
      expect((err as LinkError).message).toContain(words);
      expect((err as LinkError).message).toContain(`at ${r.listener.address}`);
    }
    expect(r.listener.stats().refused).toEqual({ 'wrong-mac': 1, 'stale-generation': 1, 'wrong-rank': 1, 'rank-out-of-range': 1, 'duplicate-rank': 1 });
    expect(r.log).toHaveLength(5);
    expect(r.links).toHaveLength(1);
    // The good link still carries frames, and a late good peer still gets in.
    const got = collect(r.links[0]!);
    good.send([Uint8Array.of(42)]);
    await dial(r, ids[3]!, 1);
    await until('the good frame and the late peer', () => got.frames.length === 1 && r.links.length === 2);
    expect(r.links.map((l) => l.peerRank)).toEqual([0, 3]);
  });

  it('a forged hello (MAC over other fields) followed by frames is refused and none of its frames reaches onLink', async () => {
    const ids = identities(3);
    const r = await listenerFor();
    acceptInto(r, ids[2]!);
    const forged = await RawDialer.connect(r.listener.address);
    const fields = { runId: 'run-a', generation: 1, fromRank: 0, toRank: 2 };
    await forged.hello(fields, randomBytes(32));
    expect(await forged.status()).toBe(HandshakeStatus.wrongMac);
    forged.socket.write(wireFrame(Uint8Array.of(1, 2, 3)));
    const replay = await RawDialer.connect(r.listener.address);
    // A MAC computed with the right secret but for another target rank cannot be moved to this one.
    await replay.hello(fields, ids[0]!.secret, { macFields: { ...fields, toRank: 1 }, extra: wireFrame(Uint8Array.of(4)) });
    await until('both closed', () => forged.ended && replay.ended);
    expect(r.links).toEqual([]);
    expect(r.listener.stats().refused).toEqual({ 'wrong-mac': 1, 'bad-hello': 1 });
    // The real rank 0 is not locked out by the forgeries.
    await dial(r, ids[0]!, 2);
    await until('the real link', () => r.links.length === 1);
  });

  it('garbage instead of a hello, and a peer that stalls mid-handshake, are closed and counted; others are fine', async () => {
    const ids = identities(2);
    const r = await listenerFor({ handshakeTimeoutMs: 200 });
    acceptInto(r, ids[1]!);
    const garbage = await RawDialer.connect(r.listener.address);
    garbage.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const staller = await RawDialer.connect(r.listener.address);
    staller.socket.write(Buffer.from([0x47, 0x4d, 0x4c]));
    await until('both closed', () => garbage.ended && staller.ended);
    expect(r.listener.stats().refused).toEqual({ 'bad-hello': 1, 'handshake-timeout': 1 });
    expect(r.log.join('\n')).toMatch(/bad magic/);
    expect(r.log.join('\n')).toMatch(/no complete hello within 200 ms \(3 bytes\)/);
    await dial(r, ids[0]!, 1);
    await until('the good link', () => r.links.length === 1);
  });

  it('an oversized frame length or a length of 0 closes that link with a reason, counted; the other link keeps going', async () => {
    const ids = identities(4);
    const r = await listenerFor({ maxFrameBytes: 1024 });
    acceptInto(r, ids[3]!);
    const big = await dial(r, ids[0]!, 3);
    const zero = await RawDialer.connect(r.listener.address);
    await zero.hello({ runId: 'run-a', generation: 1, fromRank: 1, toRank: 3 }, ids[1]!.secret);
    expect(await zero.status()).toBe(HandshakeStatus.ok);
    const fine = await dial(r, ids[2]!, 3);
    await until('three links', () => r.links.length === 3);
    const [bigIn, zeroIn, fineIn] = r.links.map(collect);
    let bigClosed = '';
    big.onClose((reason) => (bigClosed = reason));
    big.send([new Uint8Array(1025)]);
    zero.socket.write(wireFrame(new Uint8Array(0)));
    fine.send([new Uint8Array(1024).fill(3)]);
    await until('both bad links closed', () => bigIn!.closes.length === 1 && zeroIn!.closes.length === 1 && bigClosed !== '' && zero.ended);
    expect(bigIn!.closes[0]).toMatch(/^link from rank 0 \(127\.0\.0\.1:\d+\) closed: protocol violation: frame length 1025 above the limit of 1024 bytes$/);
    expect(zeroIn!.closes[0]).toMatch(/^link from rank 1 \(127\.0\.0\.1:\d+\) closed: protocol violation: frame length 0$/);
    expect(bigClosed).toMatch(/^link to rank 3 \(127\.0\.0\.1:\d+\) closed: /);
    expect(r.listener.stats().violations).toBe(2);
    await until('the fine frame', () => fineIn!.frames.length === 1);
    expect(fineIn!.closes).toEqual([]);
  });
});

describe('direct links: generations', () => {
  it('connections that arrive before accept(...) are held, then accepted; after unregister the generation is refused', async () => {
    const ids = identities(2, 7);
    const r = await listenerFor();
    const early = dialPeer(r.listener.address, ids[0]!, 1, { timeoutMs: 5_000 });
    await until('the connection is held', () => r.listener.stats().held === 1);
    const stop = acceptInto(r, ids[1]!);
    const link = await early;
    cleanups.push(() => link.close());
    await until('the held link', () => r.links.length === 1);
    const got = collect(r.links[0]!);
    link.send([Uint8Array.of(7)]);
    await until('its frame', () => got.frames.length === 1);
    stop();
    const late = await dialPeer(r.listener.address, { ...ids[0]!, rank: 0 }, 1, { timeoutMs: 3_000 }).then(() => undefined, (e: unknown) => e);
    expect((late as Error).message).toContain('does not accept links of this run and generation');
    expect(r.listener.stats().refused).toEqual({ 'stale-generation': 1 });
    // Already handed links stay.
    link.send([Uint8Array.of(8)]);
    await until('the second frame', () => got.frames.length === 2);
    expect(got.closes).toEqual([]);
  });

  it('a held connection is refused as "not registered yet" after the hold timeout, and beyond maxPending at once as busy', async () => {
    const ids = identities(3, 2);
    const r = await listenerFor({ holdTimeoutMs: 300, maxPending: 1 });
    const first = await RawDialer.connect(r.listener.address);
    await first.hello({ runId: 'run-a', generation: 2, fromRank: 0, toRank: 2 }, ids[0]!.secret);
    await until('the first is held', () => r.listener.stats().held === 1);
    const second = await RawDialer.connect(r.listener.address);
    await second.hello({ runId: 'run-a', generation: 2, fromRank: 1, toRank: 2 }, ids[1]!.secret);
    expect(await second.status()).toBe(HandshakeStatus.busy);
    expect(await first.status()).toBe(HandshakeStatus.notRegisteredYet);
    await until('both closed', () => first.ended && second.ended);
    expect(r.listener.stats()).toMatchObject({ held: 0, refused: { 'too-many-pending': 1, 'unknown-generation': 1 } });
    expect(r.log.join('\n')).toContain('not registered within 300 ms');
  });

  it('dialPeer keeps trying through hold timeouts until the peer registers the generation, and gives up at its own timeout', async () => {
    const ids = identities(2, 9);
    const r = await listenerFor({ holdTimeoutMs: 100 });
    const patient = dialPeer(r.listener.address, ids[0]!, 1, { timeoutMs: 10_000 });
    await until('two expired holds', () => (r.listener.stats().refused['unknown-generation'] ?? 0) >= 2);
    acceptInto(r, ids[1]!);
    const link = await patient;
    cleanups.push(() => link.close());
    await until('the link', () => r.links.length === 1);

    const other = await listenerFor({ holdTimeoutMs: 100 });
    const err = await dialPeer(other.listener.address, ids[0]!, 1, { timeoutMs: 500 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(LinkError);
    expect((err as Error).message).toMatch(/has not registered this run and generation \(yet\)|no handshake answer within the dial timeout/);
  });

  it('an aborted dial gives up at once — while retrying a refused port, and while held mid-handshake — not at its timeout', async () => {
    const ids = identities(2, 5);
    // Nothing listens: the dial retries connection-refused with backoff, for up to a minute unless abandoned.
    const port = await freePort();
    const refused = new AbortController();
    const retrying = dialPeer(`127.0.0.1:${port}`, ids[0]!, 1, { timeoutMs: 60_000, signal: refused.signal }).then(() => undefined, (e: unknown) => e);
    setTimeout(() => refused.abort('generation 5 ended'), 100);
    const e1 = (await retrying) as Error;
    expect(e1).toBeInstanceOf(LinkError);
    expect(e1.message).toMatch(/dial abandoned \(generation 5 ended\)/);
    // A listener that never registers generation 5 holds the connection in the handshake; the abort ends it there.
    const r = await listenerFor({ holdTimeoutMs: 60_000 });
    const inHandshake = new AbortController();
    const held = dialPeer(r.listener.address, ids[0]!, 1, { timeoutMs: 60_000, signal: inHandshake.signal }).then(() => undefined, (e: unknown) => e);
    await until('held', () => r.listener.stats().held === 1);
    inHandshake.abort('generation 5 ended');
    const e2 = (await held) as Error;
    expect(e2).toBeInstanceOf(LinkError);
    expect(e2.message).toMatch(/dial abandoned/);
    // The abandoned connection is closed: the listener stops holding it.
    await until('released', () => r.listener.stats().held === 0);
    // An already-aborted signal does not even connect.
    const e3 = (await dialPeer(r.listener.address, ids[0]!, 1, { signal: AbortSignal.abort('over') }).then(() => undefined, (e: unknown) => e)) as Error;
    expect(e3.message).toMatch(/dial abandoned \(over\)/);
  }, 20_000);

  it('registering a newer generation refuses connections held for an older one of the same run', async () => {
    const old = identities(2, 3);
    const r = await listenerFor();
    const held = dialPeer(r.listener.address, old[0]!, 1, { timeoutMs: 3_000 }).then(() => undefined, (e: unknown) => e);
    await until('held', () => r.listener.stats().held === 1);
    acceptInto(r, identities(2, 4)[1]!);
    expect((await held as Error).message).toContain('does not accept links of this run and generation');
    expect(r.listener.stats().refused).toEqual({ 'stale-generation': 1 });
  });
});

describe('direct links: ends', () => {
  it('a destroyed socket closes both ends, each exactly once, with a reason naming the peer; later sends are dropped and still release their parts', async () => {
    for (const side of ['dialer', 'acceptor'] as const) {
      const ids = identities(2);
      const r = await listenerFor();
      acceptInto(r, ids[1]!);
      const out = await dial(r, ids[0]!, 1);
      await until('the link', () => r.links.length === 1);
      const got = collect(r.links[0]!);
      const outCloses: string[] = [];
      out.onClose((reason) => outCloses.push(reason));
      if (side === 'dialer') out.close();
      else r.links[0]!.close();
      await until('both ends closed', () => got.closes.length === 1 && outCloses.length === 1);
      let written = false;
      out.send([Uint8Array.of(1)], () => (written = true));
      out.close();
      r.links[0]!.close();
      await until('the dropped send released', () => written);
      expect(got.closes[0]).toMatch(/^link from rank 0 \(127\.0\.0\.1:\d+\) closed: /);
      expect(outCloses[0]).toMatch(new RegExp(`^link to rank 1 \\(${r.listener.address}\\) closed: `));
      expect(side === 'dialer' ? outCloses[0] : got.closes[0]).toMatch(/closed locally$/);
      // A handler registered after the end still hears it, once.
      const late: string[] = [];
      out.onClose((reason) => late.push(reason));
      await until('the late handler', () => late.length === 1);
      expect(late).toEqual(outCloses);
      expect(got.closes).toHaveLength(1);
      expect(outCloses).toHaveLength(1);
    }
  });

  it('EOF in the middle of a frame closes the incoming link with a reason saying how much was missing', async () => {
    const ids = identities(2);
    const r = await listenerFor();
    acceptInto(r, ids[1]!);
    const raw = await RawDialer.connect(r.listener.address);
    await raw.hello({ runId: 'run-a', generation: 1, fromRank: 0, toRank: 1 }, ids[0]!.secret);
    expect(await raw.status()).toBe(HandshakeStatus.ok);
    await until('the link', () => r.links.length === 1);
    const got = collect(r.links[0]!);
    raw.socket.end(wireFrame(new Uint8Array(10), 100));
    await until('closed', () => got.closes.length === 1);
    expect(got.closes[0]).toMatch(/closed: peer closed the link in the middle of a frame \(10 of 100 bytes of a frame\)$/);
    expect(got.frames).toEqual([]);
  });
});

describe('direct links: peer process death', () => {
  const transportDist = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../transport/dist/index.js')).href;

  /** A node process running `body` (an async function body with `t` = the compiled transport package); its stdout lines. */
  function peerProcess(body: string): { child: ChildProcess; lines: string[] } {
    const child = spawn(process.execPath, ['--input-type=module', '-e', `const t = await import(${JSON.stringify(transportDist)});\n${body}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    child.stdout!.setEncoding('utf8').on('data', (d: string) => lines.push(...d.split('\n').filter((l) => l !== '')));
    cleanups.push(() => child.kill('SIGKILL'));
    return { child, lines };
  }

  it('SIGKILL of a sending peer mid-stream closes the incoming link once, with a reason naming the peer rank', async () => {
    const ids = identities(2);
    const r = await listenerFor();
    acceptInto(r, ids[1]!);
    const secret = Buffer.from(ids[0]!.secret).toString('hex');
    const { child } = peerProcess(`
      const link = await t.dialPeer(${JSON.stringify(r.listener.address)}, { runId: 'run-a', generation: 1, rank: 0, worldSize: 2, secret: Buffer.from('${secret}', 'hex') }, 1);
      const frame = new Uint8Array(1 << 20);
      const pump = () => { while (link.bufferedBytes < 8 << 20) link.send([frame]); setImmediate(pump); };
      pump();`);
    await until('the link', () => r.links.length === 1);
    const got = collect(r.links[0]!);
    await until('some frames', () => got.frames.length > 10);
    child.kill('SIGKILL');
    await until('closed', () => got.closes.length === 1);
    await new Promise((res) => setTimeout(res, 50));
    expect(got.closes).toHaveLength(1);
    expect(got.closes[0]).toMatch(/^link from rank 0 \(127\.0\.0\.1:\d+\) closed: (peer closed the link|.*ECONNRESET)/);
  });

  it('SIGKILL of the receiving peer closes the outgoing link once, and sends after it release their parts', async () => {
    const ids = identities(2);
    const secret = Buffer.from(ids[1]!.secret).toString('hex');
    const { child, lines } = peerProcess(`
      const listener = await t.PeerListener.open({ host: '127.0.0.1' });
      listener.accept({ runId: 'run-a', generation: 1, rank: 1, worldSize: 2, secret: Buffer.from('${secret}', 'hex') }, (link) => link.onFrame(() => undefined));
      console.log(listener.address);`);
    await until('the peer listening', () => lines.length === 1);
    const out = await dialPeer(lines[0]!, ids[0]!, 1, { timeoutMs: 3_000 });
    cleanups.push(() => out.close());
    const closes: string[] = [];
    out.onClose((reason) => closes.push(reason));
    const frame = new Uint8Array(1 << 20);
    let released = 0;
    let sent = 0;
    const pump = setInterval(() => {
      while (out.bufferedBytes < 4 << 20 && sent < 10_000) {
        sent += 1;
        out.send([frame], () => (released += 1));
      }
    }, 1);
    cleanups.push(() => clearInterval(pump));
    await until('some frames out', () => released > 10);
    child.kill('SIGKILL');
    await until('closed', () => closes.length === 1);
    clearInterval(pump);
    await until('every send released', () => released === sent);
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatch(new RegExp(`^link to rank 1 \\(${lines[0]}\\) closed: `));
  });
});

describe('direct links: dialing', () => {
  it('dialPeer retries while nothing listens yet, then links', async () => {
    const port = await freePort();
    const ids = identities(2);
    const dialing = dialPeer(`127.0.0.1:${port}`, ids[0]!, 1, { timeoutMs: 5_000 });
    await new Promise((res) => setTimeout(res, 300));
    const r = await listenerFor({ port });
    acceptInto(r, ids[1]!);
    const link = await dialing;
    cleanups.push(() => link.close());
    await until('the link', () => r.links.length === 1);
  });

  it('dialPeer gives up after timeoutMs with a LinkError naming the address and rank', async () => {
    const port = await freePort();
    const err = await dialPeer(`127.0.0.1:${port}`, identities(3)[0]!, 2, { timeoutMs: 300 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(LinkError);
    expect((err as LinkError).message).toMatch(new RegExp(`^direct link to rank 2 at 127\\.0\\.0\\.1:${port}: nothing accepted the connection within 300 ms \\(ECONNREFUSED\\) \\(.+\\)$`));
    expect((err as LinkError).code).toBe('E_CLUSTER');
  });

  it('a dialer refuses an acceptor that answers OK without proving the secret (an impostor on the port)', async () => {
    const impostor = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.write(encodeAcceptorHello(newNonce()));
      socket.once('data', () => socket.write(encodeAcceptorReply(HandshakeStatus.ok, randomBytes(32))));
    });
    await new Promise<void>((res) => impostor.listen(0, '127.0.0.1', res));
    cleanups.push(() => new Promise<void>((res) => impostor.close(() => res())));
    const address = `127.0.0.1:${(impostor.address() as { port: number }).port}`;
    const err = await dialPeer(address, identities(2)[0]!, 1, { timeoutMs: 3_000 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(LinkError);
    expect((err as Error).message).toContain(`direct link to rank 1 at ${address}: handshake: the peer did not prove it holds the secret (wrong MAC)`);
  });
});

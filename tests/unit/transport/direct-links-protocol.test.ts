import { describe, expect, it } from 'vitest';
import { framePoolStats, releaseFrame, takeFrame } from '../../../transport/src/direct-links/frame-pool.js';
import { FrameReader, SCRATCH_READ_BYTES } from '../../../transport/src/direct-links/frame-reader.js';
import {
  checkDialerHello,
  decodeAcceptorHello,
  decodeDialerHello,
  dialerHelloLength,
  encodeAcceptorHello,
  encodeDialerHello,
  HandshakeStatus,
  linkMac,
  newNonce,
} from '../../../transport/src/direct-links/handshake.js';
import { parsePeerAddress, formatPeerAddress } from '../../../transport/src/direct-links/peer-address.js';

const secret = new Uint8Array(32).fill(7);
const fields = { runId: 'run-é1', generation: 3, fromRank: 1, toRank: 2 };

function frameStream(payloads: Uint8Array[]): Uint8Array {
  return Buffer.concat(payloads.flatMap((p) => [Uint8Array.of(p.byteLength & 255, (p.byteLength >>> 8) & 255, (p.byteLength >>> 16) & 255, p.byteLength >>> 24), p]));
}

describe('link handshake messages', () => {
  it('a dialer hello decodes to what was encoded, and its length is known from its first 7 bytes', () => {
    const nonce = newNonce();
    const mac = linkMac(secret, 'dialer', fields, newNonce(), nonce);
    const bytes = encodeDialerHello(fields, nonce, mac);
    const length = dialerHelloLength(bytes.subarray(0, 7));
    expect(length).toEqual({ length: bytes.byteLength });
    const hello = decodeDialerHello(bytes);
    if ('problem' in hello) expect.fail(hello.problem);
    const { dialerNonce, mac: decodedMac, ...decoded } = hello;
    expect(decoded).toEqual(fields);
    expect(Buffer.from(dialerNonce).equals(Buffer.from(nonce))).toBe(true);
    expect(Buffer.from(decodedMac).equals(mac)).toBe(true);
  });

  it('bad magic, another version and an oversized runId are named as problems', () => {
    const bytes = encodeDialerHello(fields, newNonce(), new Uint8Array(32));
    const badMagic = Uint8Array.from(bytes);
    badMagic[0] = badMagic[0]! ^ 1;
    expect(dialerHelloLength(badMagic)).toEqual({ problem: expect.stringContaining('magic') });
    const badVersion = Uint8Array.from(bytes);
    badVersion[4] = 9;
    expect(dialerHelloLength(badVersion)).toEqual({ problem: expect.stringContaining('version 9') });
    const longRunId = Uint8Array.from(bytes);
    longRunId[5] = 0xff;
    longRunId[6] = 0xff;
    expect(dialerHelloLength(longRunId)).toEqual({ problem: expect.stringContaining('runId of 65535 bytes') });
    const acceptor = encodeAcceptorHello(newNonce());
    acceptor[1] = acceptor[1]! ^ 1;
    expect(decodeAcceptorHello(acceptor)).toEqual({ problem: expect.stringContaining('magic') });
  });

  it('the MAC changes with the role, every field and either nonce (a transcript binds them all)', () => {
    const a = newNonce();
    const d = newNonce();
    const base = linkMac(secret, 'dialer', fields, a, d).toString('hex');
    const variants = [
      linkMac(secret, 'acceptor', fields, a, d),
      linkMac(secret, 'dialer', { ...fields, runId: 'run-é2' }, a, d),
      linkMac(secret, 'dialer', { ...fields, generation: 4 }, a, d),
      linkMac(secret, 'dialer', { ...fields, fromRank: 0 }, a, d),
      linkMac(secret, 'dialer', { ...fields, toRank: 3 }, a, d),
      linkMac(secret, 'dialer', fields, newNonce(), d),
      linkMac(secret, 'dialer', fields, a, newNonce()),
      linkMac(new Uint8Array(32).fill(8), 'dialer', fields, a, d),
    ].map((m) => m.toString('hex'));
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
    // Negative control: the same inputs give the same MAC.
    expect(linkMac(secret, 'dialer', fields, a, d).toString('hex')).toBe(base);
  });

  it('checkDialerHello accepts the right hello and names each wrong one; a duplicate is checked only after the MAC', () => {
    const identity = { rank: 2, worldSize: 4, secret };
    const a = newNonce();
    const hello = (f: typeof fields, key = secret) => {
      const d = newNonce();
      return { ...f, dialerNonce: d, mac: linkMac(key, 'dialer', f, a, d) };
    };
    expect(checkDialerHello(hello(fields), identity, a, new Set())).toBe(HandshakeStatus.ok);
    expect(checkDialerHello(hello({ ...fields, toRank: 3 }), identity, a, new Set())).toBe(HandshakeStatus.wrongRank);
    expect(checkDialerHello(hello({ ...fields, fromRank: 4 }), identity, a, new Set())).toBe(HandshakeStatus.rankOutOfRange);
    expect(checkDialerHello(hello({ ...fields, fromRank: 2 }), identity, a, new Set())).toBe(HandshakeStatus.rankOutOfRange);
    expect(checkDialerHello(hello(fields, new Uint8Array(32)), identity, a, new Set())).toBe(HandshakeStatus.wrongMac);
    expect(checkDialerHello(hello(fields, new Uint8Array(32)), identity, a, new Set([1]))).toBe(HandshakeStatus.wrongMac);
    expect(checkDialerHello(hello(fields), identity, a, new Set([1]))).toBe(HandshakeStatus.duplicateRank);
    // A hello MACed over another acceptor nonce (a replay) fails.
    expect(checkDialerHello(hello(fields), identity, newNonce(), new Set())).toBe(HandshakeStatus.wrongMac);
  });

  it('addresses round-trip, IPv6 in brackets', () => {
    expect(formatPeerAddress('::1', 7000)).toBe('[::1]:7000');
    expect(parsePeerAddress('[::1]:7000')).toEqual({ host: '::1', port: 7000 });
    expect(parsePeerAddress('127.0.0.1:80')).toEqual({ host: '127.0.0.1', port: 80 });
    expect(parsePeerAddress('::1:7000')).toBeUndefined();
    expect(parsePeerAddress('host:0')).toBeUndefined();
    expect(parsePeerAddress('host')).toBeUndefined();
  });
});

describe('FrameReader', () => {
  const payloads = [Uint8Array.of(1), Uint8Array.from({ length: 300 }, (_, i) => i & 255), Uint8Array.of(9, 8, 7)];

  it('cuts the same frames out of the stream however it is split into chunks (every split point)', () => {
    const stream = frameStream(payloads);
    for (let cut = 0; cut <= stream.byteLength; cut++) {
      for (const step of [1, 5, 1000]) {
        const got: Uint8Array[] = [];
        const reader = new FrameReader(1024, (f) => got.push(f), (r) => expect.fail(r));
        reader.push(stream.subarray(0, cut));
        for (let at = cut; at < stream.byteLength; at += step) reader.push(stream.subarray(at, Math.min(at + step, stream.byteLength)));
        expect(got).toEqual(payloads);
        for (const f of got) expect([f.byteOffset, f.buffer.byteLength]).toEqual([0, f.byteLength]);
        expect(reader.atFrameBoundary).toBe(true);
      }
    }
  });

  it('a length of 0 or above the limit is a violation, and nothing after it is delivered', () => {
    for (const [length, words] of [[0, 'frame length 0'], [1025, 'frame length 1025 above the limit of 1024 bytes']] as const) {
      const got: Uint8Array[] = [];
      const violations: string[] = [];
      const reader = new FrameReader(1024, (f) => got.push(f), (r) => violations.push(r));
      const stream = frameStream([Uint8Array.of(5)]);
      reader.push(Buffer.concat([stream, Uint8Array.of(length & 255, length >>> 8, 0, 0, 1, 2, 3), stream]));
      expect(got).toEqual([Uint8Array.of(5)]);
      expect(violations).toEqual([words]);
    }
  });

  it('reads into the frame (nextReadBuffer/pushRead, as the socket does) give the same frames for any read sizes, and big frames are filled in place', () => {
    const big = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7) & 255);
    const all = [...payloads, big, Uint8Array.of(4), big.subarray(3, 70_000)];
    const stream = frameStream(all);
    for (const readSize of [1, 3, 1000, 65_536, 1 << 20]) {
      const got: Uint8Array[] = [];
      const reader = new FrameReader(1 << 20, (f) => got.push(f), (r) => expect.fail(r));
      let at = 0;
      let inPlace = 0;
      while (at < stream.byteLength) {
        const target = reader.nextReadBuffer();
        // The kernel fills at most the buffer it is given.
        const n = Math.min(readSize, target.byteLength, stream.byteLength - at);
        target.set(stream.subarray(at, at + n));
        if (target.byteLength !== SCRATCH_READ_BYTES || target.byteOffset !== 0) inPlace += n;
        reader.pushRead(n, target);
        at += n;
      }
      expect(got).toEqual(all);
      // Negative control on the fast path: with reads of 64 KiB or more, most of a 200 kB frame landed in place.
      if (readSize >= 65_536) expect(inPlace).toBeGreaterThan(100_000);
    }
  });

  it('reports a frame in progress', () => {
    const reader = new FrameReader(1024, () => undefined, () => undefined);
    reader.push(Uint8Array.of(10, 0, 0, 0, 1, 2));
    expect(reader.atFrameBoundary).toBe(false);
    expect(reader.describePartial()).toBe('2 of 10 bytes of a frame');
  });
});

describe('frame pool', () => {
  it('reuses a released frame of the same size, once, and ignores arrays it did not hand out', () => {
    const size = 12_345;
    const a = takeFrame(size);
    releaseFrame(a);
    releaseFrame(a); // twice: must not be handed to two owners
    releaseFrame(new Uint8Array(size)); // foreign
    const before = framePoolStats().reused;
    const b = takeFrame(size);
    const c = takeFrame(size);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect(framePoolStats().reused).toBe(before + 1);
  });
});

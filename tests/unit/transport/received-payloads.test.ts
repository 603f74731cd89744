import { Parser } from '@nats-io/nats-core/internal';
import { describe, expect, it } from 'vitest';
import { Random } from '../../../shared/src/random.js';
import { MIN_RECYCLED_BYTES, isRecycledPayload, releasePayload, wrapParse, type ParserInternals } from '../../../transport/src/nats-client-patches/received-payloads.js';

/**
 * The received-payloads wrapper must not change what the NATS parser delivers, however the byte stream is cut into
 * socket reads; it only changes where large payloads live (a recycled buffer of their own, at offset 0).
 */

interface Delivered {
  readonly copy: Uint8Array;
  readonly view: Uint8Array;
}

function wire(messages: readonly Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  messages.forEach((m, i) => {
    const reply = i % 3 === 1 ? ' _INBOX.r' : '';
    parts.push(Buffer.from(`MSG g.run.rs.${i % 4} ${1 + (i % 5)}${reply} ${m.length}\r\n`), m, Buffer.from('\r\n'));
    if (i % 4 === 2) parts.push(Buffer.from('PING\r\n'));
  });
  return Buffer.concat(parts);
}

function parseAll(parse: (this: ParserInternals, b: Uint8Array) => void, stream: Uint8Array, cuts: readonly number[]): Delivered[] {
  const out: Delivered[] = [];
  const parser = new Parser({
    push: (e: unknown) => {
      const data = (e as { data?: unknown }).data;
      if (data instanceof Uint8Array) out.push({ copy: data.slice(), view: data });
    },
  }) as unknown as ParserInternals;
  let at = 0;
  for (const cut of [...cuts, stream.length]) {
    parse.call(parser, stream.subarray(at, cut));
    at = cut;
  }
  return out;
}

function randomMessage(size: number, r: Random): Uint8Array {
  const m = new Uint8Array(size);
  for (let i = 0; i < size; i += 97) m[i] = Math.floor(r.next() * 256);
  if (size > 0) m[size - 1] = 0xa5;
  return m;
}

const stock = (Parser.prototype as unknown as ParserInternals).parse;
const recycling = wrapParse(stock);

describe('recycled receive buffers (transport/src/nats-client-patches/received-payloads.ts)', () => {
  const sizes = [0, 1, 100, MIN_RECYCLED_BYTES - 1, MIN_RECYCLED_BYTES, MIN_RECYCLED_BYTES + 3, (1 << 20) + 16, 300_001, 2 << 20];

  it('delivers exactly what the stock parser delivers, for 40 random cuttings of the stream into reads', () => {
    const r = new Random(2024);
    const messages = sizes.map((s) => randomMessage(s, r));
    const stream = wire(messages);
    for (let trial = 0; trial < 40; trial++) {
      // Reads of 1 byte to 80 KiB (Node reads at most 64 KiB), sometimes cutting inside the MSG line or CRLF.
      const cuts: number[] = [];
      for (let at = 0; ; ) {
        at += 1 + Math.floor(r.next() * (trial % 4 === 0 ? 50 : 80_000));
        if (at >= stream.length) break;
        cuts.push(at);
      }
      const want = parseAll(stock, stream, cuts);
      const got = parseAll(recycling, stream, cuts);
      expect(got.length).toBe(messages.length);
      expect(want.length).toBe(messages.length);
      got.forEach((g, i) => {
        expect(Buffer.compare(g.copy, want[i]!.copy), `message ${i} (${sizes[i]} bytes), trial ${trial}`).toBe(0);
        expect(Buffer.compare(g.copy, messages[i]!)).toBe(0);
        if (isRecycledPayload(g.view)) {
          expect(g.view.byteOffset).toBe(0);
          expect(g.view.length).toBeGreaterThanOrEqual(MIN_RECYCLED_BYTES);
          expect(releasePayload(g.view)).toBe(true);
        }
      });
    }
  });

  it('a large payload split over reads is recycled at offset 0 (so values after a 16-byte header are aligned)', () => {
    const m = randomMessage((1 << 20) + 16, new Random(1));
    const stream = wire([m]);
    const [d] = parseAll(recycling, stream, [10, 65_536, 131_072]);
    expect(d).toBeDefined();
    expect(isRecycledPayload(d!.view)).toBe(true);
    expect(d!.view.byteOffset).toBe(0);
    releasePayload(d!.view);
  });

  it('a released buffer is reused for the next payload of its size class; a foreign or twice-released frame is refused', () => {
    const r = new Random(5);
    const stream = wire([randomMessage(500_000, r)]);
    const [first] = parseAll(recycling, stream, [100, 70_000]);
    const buffer = first!.view.buffer;
    expect(releasePayload(first!.view)).toBe(true);
    expect(releasePayload(first!.view)).toBe(false);
    expect(releasePayload(new Uint8Array(500_000))).toBe(false);
    const [second] = parseAll(recycling, stream, [100, 70_000]);
    expect(second!.view.buffer).toBe(buffer);
    expect(Buffer.compare(second!.view, first!.copy)).toBe(0);
    releasePayload(second!.view);
  });

  it('a payload that fits in one read is left as the client delivers it (not recycled)', () => {
    const m = randomMessage(MIN_RECYCLED_BYTES + 10, new Random(3));
    const [d] = parseAll(recycling, wire([m]), []);
    expect(isRecycledPayload(d!.view)).toBe(false);
    expect(Buffer.compare(d!.copy, m)).toBe(0);
  });
});

import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/src/errors.js';
import { decodeControl, encodeControl } from '../../../shared/src/protocol/codec.js';
import { DataAddressError, parseDataAddress } from '../../../shared/src/protocol/data-address.js';
import { MessageRejectedError } from '../../../shared/src/protocol/drops.js';
import type { AssignBody, JoinBody } from '../../../shared/src/protocol/messages.js';
import { assignSubject, joinSubject } from '../../../shared/src/protocol/subjects.js';
import { PROTOCOL_VERSION } from '../../../shared/src/protocol/version.js';

const run = 'run-1';
const expected = { run, version: PROTOCOL_VERSION };
const raw = new Packr({ useRecords: false });
const secret = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
const join: JoinBody = { workerId: 'w-1', pid: 4242, host: 'node-a', threads: 2, dataAddress: '10.0.3.7:29500' };
const assign: AssignBody = {
  workerId: 'w-1',
  rank: 1,
  worldSize: 3,
  generation: 4,
  members: ['w-0', 'w-1', 'w-2'],
  config: { seed: 7 },
  startStep: 0,
  links: { addresses: ['10.0.3.6:29500', '[fd00::7]:29500', 'worker-2.gradmesh.svc.cluster.local:1'], secret },
};

/** What a receiver does with a peer's bytes that encodeControl would have refused. */
function rejection(kind: 'join' | 'assign', body: unknown): MessageRejectedError {
  const subject = kind === 'join' ? joinSubject(run, 'w-1') : assignSubject(run, 'w-1');
  try {
    decodeControl(subject, raw.pack({ v: PROTOCOL_VERSION, run, kind, from: kind === 'join' ? 'w-1' : 'coordinator', gen: 4, body }), expected);
  } catch (e) {
    expect(e).toBeInstanceOf(MessageRejectedError);
    return e as MessageRejectedError;
  }
  throw new Error('the message was accepted');
}

describe('parseDataAddress', () => {
  it('takes an IPv4 address, a bracketed IPv6 address or a DNS name, with a port 1–65535', () => {
    expect(parseDataAddress('10.0.3.7:29500')).toEqual({ host: '10.0.3.7', port: 29500 });
    expect(parseDataAddress('[fd00::7]:1')).toEqual({ host: 'fd00::7', port: 1 });
    expect(parseDataAddress('[::ffff:10.0.0.1]:65535')).toEqual({ host: '::ffff:10.0.0.1', port: 65535 });
    expect(parseDataAddress('[1:2:3:4:5:6:7:8]:80')).toEqual({ host: '1:2:3:4:5:6:7:8', port: 80 });
    expect(parseDataAddress('w-1.gradmesh.svc.cluster.local:29500')).toEqual({ host: 'w-1.gradmesh.svc.cluster.local', port: 29500 });
    expect(parseDataAddress('localhost:9')).toEqual({ host: 'localhost', port: 9 });
  });

  it('refuses anything else with a DataAddressError (a ConfigError) naming the field and the value', () => {
    const bad = [
      '10.0.3.7', // no port
      '10.0.3.7:0',
      '10.0.3.7:65536',
      '10.0.3.7:-1',
      '10.0.3.7:80x',
      ':80',
      '10.0.3.256:80',
      '10.0.3:80',
      'fd00::7:80', // IPv6 without brackets
      '[fd00::7:80',
      '[fd00:::7]:80',
      '[1:2:3:4:5:6:7:8:9]:80',
      '[fe80::1%eth0]:80', // zone ids are not accepted
      'host_name:80',
      'a..b:80',
      '-a.b:80',
      `${'a'.repeat(64)}.b:80`, // a label over 63
      `${'abcdefghi.'.repeat(25)}abcd:80`, // a name over 253
      `${'a'.repeat(301)}:80`, // over 300 in all
      'http://x:80',
    ];
    for (const text of bad) {
      let error: unknown;
      try {
        parseDataAddress(text, 'links.addresses[2]');
      } catch (e) {
        error = e;
      }
      expect(error, text).toBeInstanceOf(DataAddressError);
      expect(error, text).toBeInstanceOf(ConfigError);
      expect((error as DataAddressError).value, text).toBe(text);
      expect((error as Error).message, text).toMatch(/^links\.addresses\[2\]: .*\(got ".{1,80}(…)?"\)$/);
    }
  });
});

describe('direct links on the wire', () => {
  it('a join round-trips with its data address, and without one', () => {
    expect(decodeControl(joinSubject(run, 'w-1'), encodeControl({ run, kind: 'join', from: 'w-1', gen: 0, body: join }), expected).body).toEqual(join);
    const { dataAddress: _, ...old } = join;
    expect(decodeControl(joinSubject(run, 'w-1'), encodeControl({ run, kind: 'join', from: 'w-1', gen: 0, body: old }), expected).body).toEqual(old);
  });

  it('an assignment round-trips its links; the secret comes back as a plain 32-byte Uint8Array of the same bytes', () => {
    const m = decodeControl(assignSubject(run, 'w-1'), encodeControl({ run, kind: 'assign', from: 'coordinator', gen: 4, body: assign }), expected);
    expect(m.kind).toBe('assign');
    const links = (m.body as AssignBody).links!;
    expect(links.addresses).toEqual(assign.links!.addresses);
    expect(Object.getPrototypeOf(links.secret)).toBe(Uint8Array.prototype); // not a Buffer viewing the message
    expect(links.secret.byteLength).toBe(32);
    expect(links.secret.buffer.byteLength).toBe(32);
    expect([...links.secret]).toEqual([...secret]);
  });

  it('an assignment without links (a run through NATS) round-trips without them', () => {
    const { links: _, ...nats } = assign;
    const m = decodeControl(assignSubject(run, 'w-1'), encodeControl({ run, kind: 'assign', from: 'coordinator', gen: 4, body: nats }), expected);
    expect(m.body).toEqual(nats);
    expect(m.body).not.toHaveProperty('links');
  });

  it('a malformed data address or links block is dropped (malformed) with a reason naming the field', () => {
    const cases: [kind: 'join' | 'assign', field: string, body: Record<string, unknown>][] = [
      ['join', 'body.dataAddress', { ...join, dataAddress: 'fd00::7:29500' }],
      ['join', 'body.dataAddress', { ...join, dataAddress: 29500 }],
      ['join', 'body.dataAddress', { ...join, dataAddress: `${'a'.repeat(300)}:1` }],
      ['assign', 'body.links', { ...assign, links: 'x' }],
      ['assign', 'body.links.addresses', { ...assign, links: { ...assign.links, addresses: ['10.0.0.1:1', '10.0.0.2:1'] } }],
      ['assign', 'body.links.addresses[2]', { ...assign, links: { ...assign.links, addresses: ['10.0.0.1:1', '10.0.0.2:1', 'bad_host:1'] } }],
      ['assign', 'body.links.secret', { ...assign, links: { addresses: assign.links!.addresses } }],
      ['assign', 'body.links.secret', { ...assign, links: { ...assign.links, secret: secret.subarray(0, 31) } }],
      ['assign', 'body.links.secret', { ...assign, links: { ...assign.links, secret: new Uint8Array(33) } }],
      ['assign', 'body.links.secret', { ...assign, links: { ...assign.links, secret: Buffer.from(secret).toString('hex') } }],
      ['assign', 'body.links.extra', { ...assign, links: { ...assign.links, extra: 1 } }],
    ];
    for (const [kind, field, body] of cases) {
      const e = rejection(kind, body);
      expect(e.dropReason, field).toBe('malformed');
      expect(e.message, field).toContain(`${field}:`);
    }
  });

  it('a refused secret is never shown, only its length', () => {
    const short = Uint8Array.from({ length: 31 }, () => 0xab);
    const e = rejection('assign', { ...assign, links: { ...assign.links, secret: short } });
    expect(e.message).toContain('31 bytes');
    expect(e.message).not.toMatch(/ab|171/);
  });

  it('the sender refuses links it could not deliver (one address per rank, 32 bytes of a Uint8Array)', () => {
    // 32 bytes of another typed array: msgpackr would send its bytes as bin, so only the sender can catch it.
    expect(() => encodeControl({ run, kind: 'assign', from: 'coordinator', gen: 4, body: { ...assign, links: { ...assign.links!, secret: new Float32Array(8) as unknown as Uint8Array } } })).toThrow(/body\.links\.secret: must be 32 bytes/);
    expect(() => encodeControl({ run, kind: 'assign', from: 'coordinator', gen: 4, body: { ...assign, links: { ...assign.links!, secret: new Uint8Array(16) } } })).toThrow(/body\.links\.secret: must be exactly 32 bytes/);
    expect(() => encodeControl({ run, kind: 'assign', from: 'coordinator', gen: 4, body: { ...assign, links: { ...assign.links!, addresses: ['10.0.0.1:1'] } } })).toThrow(/body\.links\.addresses: must be an array of 3/);
  });
});

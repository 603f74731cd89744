import { Packr } from 'msgpackr';
import { describeField, isPlainObject, type FieldErrorFactory } from '../config/validate.js';
import { ConfigError } from '../errors.js';
import { MessageRejectedError } from './drops.js';
import { MESSAGE_KINDS, isMessageKind, type MessageBodies, type MessageKind } from './messages.js';
import { ID_PATTERN, parseControlSubject } from './subjects.js';
import { PROTOCOL_VERSION } from './version.js';

/**
 * Control messages on the wire: a msgpack map `{ v, run, kind, from, gen, body }`.
 *
 * `useRecords: false` keeps the bytes plain MessagePack (maps with string keys), so any msgpack library can
 * read them and no record-structure state is shared between encoder and decoder — a peer that restarts, or a
 * message that is lost, cannot desynchronise the decoding of later messages. Never put a typed array other
 * than a Uint8Array in a body: msgpackr 2.1.3 encodes a Float32Array as garbage with default options (tensors
 * use `pieces.ts`). A Uint8Array is msgpack bin and comes back as a Buffer viewing the received message, so
 * a validator copies it (the assignment's link secret).
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export type ControlMessage = {
  [K in MessageKind]: {
    readonly v: number;
    readonly run: string;
    readonly kind: K;
    /** The sender: a worker id, or `coordinator`. */
    readonly from: string;
    /** The membership generation the sender is in. */
    readonly gen: number;
    readonly body: MessageBodies[K];
  };
}[MessageKind];

/** The message of one kind, e.g. `ControlMessageOf<'join'>`. */
export type ControlMessageOf<K extends MessageKind> = Extract<ControlMessage, { kind: K }>;

export interface ExpectedEnvelope {
  readonly run: string;
  readonly version: number;
}

const ENVELOPE_KEYS = ['v', 'run', 'kind', 'from', 'gen', 'body'];

/**
 * Encodes a control message. The body is validated with the same rules as the receiver's, so a sender bug
 * (NaN timing, rank out of range) fails loudly here instead of as a silent drop on the other side.
 */
export function encodeControl<K extends MessageKind>(message: { run: string; kind: K; from: string; gen: number; body: MessageBodies[K] }): Uint8Array {
  const subject = `(encoding ${message.kind})`;
  if (!ID_PATTERN.test(message.run)) throw new MessageRejectedError(subject, 'malformed', message.kind, `run id ${JSON.stringify(message.run)} is not valid`);
  if (!ID_PATTERN.test(message.from)) throw new MessageRejectedError(subject, 'malformed', message.kind, `sender id ${JSON.stringify(message.from)} is not valid`);
  if (!Number.isInteger(message.gen) || message.gen < 0 || message.gen > 0xffffffff) {
    throw new MessageRejectedError(subject, 'malformed', message.kind, `generation ${message.gen} is not a u32`);
  }
  // Round-trip the body through the validator: it also drops `undefined` optional fields msgpack would keep.
  const body = validateBody(subject, message.kind, message.body as unknown, message.from);
  return packr.pack({ v: PROTOCOL_VERSION, run: message.run, kind: message.kind, from: message.from, gen: message.gen, body });
}

function validateBody<K extends MessageKind>(subject: string, kind: K, body: unknown, peer: string | undefined): MessageBodies[K] {
  const options = peer === undefined ? {} : { peer };
  if (!isPlainObject(body)) throw new MessageRejectedError(subject, 'malformed', kind, 'body must be a map', options);
  const malformed: FieldErrorFactory = (field, message, details) =>
    new MessageRejectedError(subject, 'malformed', kind, describeField(field, message, details), { ...options, ...(details.hint ? { hint: details.hint } : {}) });
  try {
    return MESSAGE_KINDS[kind].validate(body, { path: 'body', error: malformed }) as MessageBodies[K];
  } catch (error) {
    // A reader that throws ConfigError itself (the epoch-record check) is rejected the same way.
    if (error instanceof ConfigError) throw new MessageRejectedError(subject, 'malformed', kind, error.message, options);
    throw error;
  }
}

/**
 * Decodes and validates a control message received on `subject`. Returns the typed message, or throws
 * MessageRejectedError (a ProtocolError naming the subject, the peer when known, and the reason; its
 * `dropReason` and `kind` say how to count it in a DropCounter). Checks, in order: decodable msgpack map,
 * protocol version, run id (envelope and subject), known kind, sender id, generation, subject family, body.
 */
export function decodeControl(subject: string, bytes: Uint8Array, expected: ExpectedEnvelope): ControlMessage {
  let decoded: unknown;
  try {
    decoded = packr.unpack(bytes);
  } catch (error) {
    throw new MessageRejectedError(subject, 'malformed', 'unknown', `not MessagePack (${(error as Error).message})`);
  }
  if (!isPlainObject(decoded)) throw new MessageRejectedError(subject, 'malformed', 'unknown', 'not a message envelope (a map)');
  const env = decoded;
  const peer = typeof env['from'] === 'string' && ID_PATTERN.test(env['from']) ? env['from'] : undefined;
  const options = peer === undefined ? {} : { peer };
  const kindName = typeof env['kind'] === 'string' && env['kind'].length <= 64 ? env['kind'] : 'unknown';

  if (env['v'] !== expected.version) {
    throw new MessageRejectedError(subject, 'version', kindName, `protocol version ${JSON.stringify(env['v'])}, expected ${expected.version}`, {
      ...options,
      hint: 'every process of a run must run the same gradmesh version',
    });
  }
  const where = parseControlSubject(subject);
  if (env['run'] !== expected.run || (where !== undefined && where.run !== expected.run)) {
    throw new MessageRejectedError(subject, 'foreign-run', kindName, `run ${JSON.stringify(env['run'])}, expected ${JSON.stringify(expected.run)}`, options);
  }
  const kind = env['kind'];
  if (!isMessageKind(kind)) throw new MessageRejectedError(subject, 'unknown-kind', kindName, `unknown message kind ${JSON.stringify(kind)}`, options);
  for (const key of Object.keys(env)) {
    if (!ENVELOPE_KEYS.includes(key)) throw new MessageRejectedError(subject, 'malformed', kind, `unknown envelope field ${JSON.stringify(key)}`, options);
  }
  if (peer === undefined) throw new MessageRejectedError(subject, 'malformed', kind, `from: must be a worker id or "coordinator" (got ${JSON.stringify(env['from'])})`);
  const gen = env['gen'];
  if (typeof gen !== 'number' || !Number.isInteger(gen) || gen < 0 || gen > 0xffffffff) {
    throw new MessageRejectedError(subject, 'malformed', kind, `gen: must be an integer generation ≥ 0 (got ${JSON.stringify(gen)})`, options);
  }
  if (where === undefined || where.family !== MESSAGE_KINDS[kind].family) {
    throw new MessageRejectedError(subject, 'wrong-subject', kind, `a ${kind} message belongs on the ${MESSAGE_KINDS[kind].family} subject`, options);
  }
  if (where.sender !== undefined && where.sender !== peer) {
    throw new MessageRejectedError(subject, 'wrong-sender', kind, `from "${peer}" on the subject of worker "${where.sender}" (Note [the sender is in the subject])`, options);
  }
  const body = validateBody(subject, kind, env['body'], peer);
  return { v: expected.version, run: expected.run, kind, from: peer, gen, body } as ControlMessage;
}

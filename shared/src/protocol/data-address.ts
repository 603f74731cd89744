import { ConfigError } from '../errors.js';

/**
 * Where a worker's link listener accepts direct worker-to-worker connections (`training.allreduce.transport:
 * "direct"`): `host:port`, sent by the worker in its join and handed to every member in its assignment. It
 * comes from the network, so it is checked as strictly as any other field before anyone dials it:
 * - host: an IPv4 dotted quad (`10.0.3.7`), an IPv6 address in brackets (`[fd00::7]`), or a DNS name (letters,
 *   digits, `-` and `.`, at most 253 characters; no empty labels, none longer than 63);
 * - port: an integer 1–65535 (a listener that asked for port 0 reports the port it got);
 * - the whole at most 300 characters.
 */
export interface DataAddress {
  /** The host as written, without the brackets of an IPv6 address (what `net.connect` takes). */
  readonly host: string;
  readonly port: number;
}

export const MAX_DATA_ADDRESS_LENGTH = 300;
const MAX_DNS_NAME = 253;

/** A data address that is not `host:port` as above; `value` is what was given (cut to 80 characters). */
export class DataAddressError extends ConfigError {
  readonly value: string;
  constructor(field: string, value: string, reason: string) {
    super(field, `${reason}; a data address is host:port (an IPv4 address, [an IPv6 address] or a DNS name, port 1–65535)`, { value: value.length > 80 ? `${value.slice(0, 80)}…` : value });
    this.value = value;
  }
}

/** Parses `host:port`; throws DataAddressError naming `field` and the value. */
export function parseDataAddress(text: string, field = 'dataAddress'): DataAddress {
  const parsed = dataAddressOrReason(text);
  if (typeof parsed === 'string') throw new DataAddressError(field, text, parsed);
  return parsed;
}

/** The parsed address, or why it is not one (for validators that report through their own scope). */
export function dataAddressOrReason(text: unknown): DataAddress | string {
  if (typeof text !== 'string') return 'must be a string';
  if (text.length > MAX_DATA_ADDRESS_LENGTH) return `must be at most ${MAX_DATA_ADDRESS_LENGTH} characters`;
  const colon = text.lastIndexOf(':');
  if (colon < 0) return 'has no port';
  const hostText = text.slice(0, colon);
  const port = portOrReason(text.slice(colon + 1));
  if (typeof port === 'string') return port;
  if (hostText.startsWith('[')) {
    if (!hostText.endsWith(']')) return 'has an unclosed "[" around its IPv6 address';
    const inner = hostText.slice(1, -1);
    return isIPv6(inner) ? { host: inner, port } : 'has no valid IPv6 address between "[" and "]"';
  }
  // Ambiguous without brackets: in fd00::1:80, is 80 the port or the address's last group?
  if (hostText.includes(':')) return 'has an IPv6 address without brackets (write [fd00::7]:29500)';
  const host = dataHostOrReason(hostText);
  if (typeof host === 'string') return hostText === '' ? 'has no host' : `has a host that ${host}`;
  return { host: hostText, port };
}

/**
 * A host to listen on or dial (`--data-host`): an IPv4 address, an IPv6 address (bare or in brackets) or a DNS
 * name. Returns the host without brackets, or why it is not one.
 */
export function dataHostOrReason(text: string): { host: string } | string {
  if (text === '') return 'is empty';
  if (text.startsWith('[') && text.endsWith(']')) return isIPv6(text.slice(1, -1)) ? { host: text.slice(1, -1) } : 'is not a valid IPv6 address between "[" and "]"';
  if (text.includes(':')) return isIPv6(text) ? { host: text } : 'is not a valid IPv6 address (in an address with a port, write it in brackets: [fd00::7]:29500)';
  if (/^[0-9.]+$/.test(text)) return isIPv4(text) ? { host: text } : 'is not a valid IPv4 address (four numbers 0–255)';
  if (text.length > MAX_DNS_NAME) return `is a DNS name longer than ${MAX_DNS_NAME} characters`;
  if (!/^[A-Za-z0-9.-]+$/.test(text)) return 'is neither an IP address nor a DNS name (letters, digits, "-" and ".")';
  const labels = text.endsWith('.') ? text.slice(0, -1).split('.') : text.split('.');
  for (const label of labels) {
    if (label.length === 0 || label.length > 63) return 'is a DNS name with an empty label or one longer than 63 characters';
    if (label.startsWith('-') || label.endsWith('-')) return 'is a DNS name with a label that starts or ends with "-"';
  }
  return { host: text };
}

function portOrReason(text: string): number | string {
  if (!/^[0-9]{1,5}$/.test(text)) return 'has no port number after its last ":"';
  const port = Number(text);
  if (port < 1 || port > 65_535) return 'has a port outside 1–65535';
  return port;
}

function isIPv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

/** RFC 4291 text forms: eight groups of 1–4 hex digits, one `::` for a run of zero groups, an IPv4 tail allowed. No zone id. */
function isIPv6(text: string): boolean {
  if (text.length < 2 || text.length > 45) return false;
  let groups = text;
  let tail = 0;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    if (!isIPv4(text.slice(lastColon + 1))) return false;
    groups = text.slice(0, lastColon + 1) + '0'; // stand-in group; the IPv4 tail counts as two groups
    tail = 1;
  }
  const halves = groups.split('::');
  if (halves.length > 2) return false;
  const hex = (half: string) => (half === '' ? [] : half.split(':'));
  const parts = halves.flatMap(hex);
  if (!parts.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  const count = parts.length + tail;
  return halves.length === 2 ? count <= 7 : count === 8;
}

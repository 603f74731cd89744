import { describe, expect, it } from 'vitest';
import { linkSecretInTheClear } from '../../../cli/src/link-secret-check.js';

describe('the coordinator warns when encrypted links get their secret over plain NATS', () => {
  it('a plain NATS connection to another machine exposes it; TLS (URL or flags) or loopback does not', () => {
    expect(linkSecretInTheClear('nats://nats:4222', undefined)).toBe(true);
    expect(linkSecretInTheClear('nats://10.0.0.7:4222', {})).toBe(true);
    expect(linkSecretInTheClear('nats://127.example.com:4222', undefined)).toBe(true);
    expect(linkSecretInTheClear('tls://nats:4222', undefined)).toBe(false);
    expect(linkSecretInTheClear('nats://nats:4222', { tls: { caFile: 'ca.pem' } })).toBe(false);
    expect(linkSecretInTheClear('nats://127.0.0.1:4222', undefined)).toBe(false);
    expect(linkSecretInTheClear('nats://user:pass@localhost:4222', undefined)).toBe(false);
    expect(linkSecretInTheClear('[::1]:4222', undefined)).toBe(false);
  });
});

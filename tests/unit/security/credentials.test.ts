import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createUser } from '@nats-io/nkeys';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/src/errors.js';
import { credentialsEnv, describeCredentials, natsConnectOptions, redactUrl, resolveNatsCredentials, withoutCredentialsEnv } from '../../../transport/src/credentials.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-creds-'));
const seed = new TextDecoder().decode(createUser().getSeed());
const seedFile = path.join(dir, 'w0.nk');
writeFileSync(seedFile, `${seed}\n`);
const junkFile = path.join(dir, 'junk.txt');
writeFileSync(junkFile, 'not a credential s3cr3t-contents');

function thrown(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('NATS credentials from flags and environment', () => {
  it('none given: an empty identity, no connect options', () => {
    expect(resolveNatsCredentials({}, {})).toEqual({});
    expect(natsConnectOptions(undefined)).toEqual({});
  });

  it('the flag wins over the environment variable, field by field', () => {
    const c = resolveNatsCredentials({ 'nats-pass': 'from-flag' }, { GRADMESH_NATS_USER: 'env-user', GRADMESH_NATS_PASS: 'from-env' });
    expect(c).toEqual({ user: 'env-user', pass: 'from-flag' });
    expect(natsConnectOptions(c).authenticator).toBeTypeOf('function');
  });

  it('a creds file is read (an nkey seed works too); TLS files are checked and passed as paths', () => {
    const c = resolveNatsCredentials({ 'nats-creds': seedFile, 'nats-tls-ca': seedFile }, {});
    expect(Buffer.from(c.creds!).toString().trim()).toBe(seed);
    expect(c.tls).toEqual({ caFile: seedFile });
    const o = natsConnectOptions(c);
    expect(o.authenticator).toBeTypeOf('function');
    expect(o.tls).toEqual({ caFile: seedFile });
    expect(resolveNatsCredentials({}, { GRADMESH_NATS_CREDS: seedFile }).credsFile).toBe(seedFile);
  });

  it('a missing file is one line naming the flag (or the variable) and the path, with the OS error code', () => {
    const e = thrown(() => resolveNatsCredentials({ 'nats-creds': path.join(dir, 'missing.creds') }, {}));
    expect(e.field).toBe('--nats-creds');
    expect(e.message).toMatch(/--nats-creds: cannot read the file \(ENOENT\)/);
    expect(e.message.split('\n')).toHaveLength(1);
    expect(thrown(() => resolveNatsCredentials({}, { GRADMESH_NATS_TLS_CA: '/nonexistent/ca.pem' })).field).toBe('GRADMESH_NATS_TLS_CA');
  });

  it('a file that is no credential is refused without showing its contents', () => {
    const e = thrown(() => resolveNatsCredentials({ 'nats-creds': junkFile }, {}));
    expect(e.message).toMatch(/neither a NATS creds file/);
    expect(e.message).not.toContain('s3cr3t');
  });

  it('conflicting or half-given credentials are refused without the secrets', () => {
    const both = thrown(() => resolveNatsCredentials({ 'nats-token': 'tok-SECRET' }, { GRADMESH_NATS_USER: 'u', GRADMESH_NATS_PASS: 'pw-SECRET' }));
    expect(both.message).toMatch(/one way to authenticate/);
    const half = thrown(() => resolveNatsCredentials({ 'nats-pass': 'pw-SECRET' }, {}));
    expect(half.field).toBe('--nats-pass');
    expect(thrown(() => resolveNatsCredentials({ 'nats-tls-cert': seedFile }, {})).message).toMatch(/needs the key/);
    for (const e of [both, half]) expect(e.message).not.toMatch(/SECRET/);
  });

  it('descriptions, URLs and the child environment: no secret shown, exactly one identity handed on', () => {
    const c = resolveNatsCredentials({ 'nats-user': 'w0', 'nats-pass': 'pw-SECRET' }, {});
    expect(describeCredentials(c)).toBe('user w0');
    expect(redactUrl('nats://u:pw-SECRET@127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
    expect(credentialsEnv(c)).toEqual({ GRADMESH_NATS_USER: 'w0', GRADMESH_NATS_PASS: 'pw-SECRET' });
    expect(withoutCredentialsEnv({ GRADMESH_NATS_TOKEN: 't', GRADMESH_NATS_TLS_KEY: 'k', PATH: '/bin' })).toEqual({ PATH: '/bin' });
  });
});

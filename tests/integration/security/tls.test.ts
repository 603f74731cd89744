import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ClusterHarness, mlpConfig, writeImageData } from '../cluster/harness.js';
import { spawnWithIdentity, startServer, type SecuredServer } from './secured-run.js';

/**
 * End-to-end TLS (issue 12): a nats-server that verifies clients (mutual TLS, `verify: true`) with certificates
 * made here by the openssl CLI — a CA, a server certificate for 127.0.0.1/localhost, a client certificate. A run
 * whose processes present the client certificate and trust the CA completes with agreeing replicas; a client
 * without a certificate is refused; a client that does not trust the server's CA fails in one line naming the
 * server, exit 2.
 */

const OPENSSL = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
if (!OPENSSL) console.warn('tls.test.ts: skipped — the openssl CLI is not installed (apt-get install openssl)');

let h: ClusterHarness;
let server: SecuredServer;
const pki = (name: string) => h.path(`pki/${name}`);

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: h.path('pki'), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

/** A self-signed CA: `<name>.pem` and `<name>-key.pem`. */
function makeCa(name: string): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`]);
}

/** A certificate `<name>.pem` (key `<name>-key.pem`) signed by CA `ca`, with the extensions in `ext`. */
function makeCert(name: string, ca: string, ext: string): void {
  writeFileSync(pki(`${name}.ext`), ext);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}-key.pem`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
}

function gradmesh(args: string[]) {
  const env = { ...h.env };
  for (const k of Object.keys(env)) if (k.startsWith('GRADMESH_NATS_')) delete env[k];
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: h.dir, encoding: 'utf8', timeout: 60_000, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!OPENSSL)('a run over mutual TLS', () => {
  beforeAll(async () => {
    h = await ClusterHarness.start(false);
    writeImageData(h, 400);
    h.file('mlp.json', mlpConfig({ epochs: 2, batchSize: 16, validationSplit: 0.2, microBatch: 8 }));
    mkdirSync(h.path('pki'));
    makeCa('ca');
    makeCa('rogue-ca');
    makeCert('server', 'ca', 'subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth\n');
    makeCert('client', 'ca', 'extendedKeyUsage = clientAuth\n');
    const q = JSON.stringify;
    server = await startServer(h, 'tls-nats', `tls { cert_file: ${q(pki('server.pem'))}, key_file: ${q(pki('server-key.pem'))}, ca_file: ${q(pki('ca.pem'))}, verify: true }`, 'tls');
  });
  afterAll(async () => {
    await h?.close();
    await server?.stop();
  });

  const clientTls = () => ['--nats-tls-ca', pki('ca.pem'), '--nats-tls-cert', pki('client.pem'), '--nats-tls-key', pki('client-key.pem')];

  it('a coordinator and 2 workers presenting the client certificate train to completion; replicas agree', async () => {
    const run = 'tls-run';
    const coordinator = spawnWithIdentity(h, 'coordinator', ['coordinator', '--nats', server.url, '--run', run, '--config', 'mlp.json', '--workers', '2', '--report', 'tls.json', ...clientTls()], undefined);
    const workers = ['w0', 'w1'].map((id) => spawnWithIdentity(h, id, ['worker', '--nats', server.url, '--run', run, '--id', id, '--threads', '1', ...clientTls()], undefined));
    const exit = await coordinator.exit(120_000);
    expect(exit.code, coordinator.output).toBe(0);
    for (const w of workers) expect((await w.exit(30_000)).code, w.output).toBe(0);
    expect(coordinator.output).toMatch(/coordinator of run "tls-run" on tls:\/\/127\.0\.0\.1:\d+ \(no credentials, TLS\)/);
    const report = JSON.parse(readFileSync(h.path('tls.json'), 'utf8'));
    expect(report.replicaChecksumsAgree).toBe(true);
    expect(report.steps).toBe(40);
  });

  it('a client without a client certificate is refused by the server', async () => {
    await expect(connect({ servers: server.url, reconnect: false, timeout: 5_000, tls: { caFile: pki('ca.pem') } })).rejects.toThrow();
    // The server ends the handshake; the client only sees the connection go unanswered (a timeout), so the
    // one-line error names the server and points at the client certificate among the things to check.
    const r = gradmesh(['status', '--nats', server.url, '--run', 'tls-run', '--nats-tls-ca', pki('ca.pem')]);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toContain(server.url);
    expect(r.stderr).toContain('--nats-tls-cert');
    expect(server.log()).toMatch(/TLS handshake error/);
  });

  it("a client that does not trust the server's CA fails in one line naming the server, exit 2", () => {
    const r = gradmesh(['status', '--nats', server.url, '--run', 'tls-run', '--nats-tls-ca', pki('rogue-ca.pem'), '--nats-tls-cert', pki('client.pem'), '--nats-tls-key', pki('client-key.pem')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toContain(server.url);
    expect(r.stderr).toMatch(/NATS TLS: the server at tls:\/\/127\.0\.0\.1:\d+ presented a certificate this client does not trust/);
    expect(r.stderr).toContain('--nats-tls-ca');
    // The worker says the same when it starts (after its one progress line).
    const w = gradmesh(['worker', '--nats', server.url, '--run', 'tls-run', '--id', 'w9', '--threads', '1', '--nats-tls-ca', pki('rogue-ca.pem'), '--nats-tls-cert', pki('client.pem'), '--nats-tls-key', pki('client-key.pem')]);
    expect(w.code, w.stderr).toBe(2);
    const errors = w.stderr.split('\n').filter((l) => l.startsWith('gradmesh:'));
    expect(errors, w.stderr).toHaveLength(1);
    expect(errors[0]).toContain(`the server at ${server.url} presented a certificate this client does not trust`);
  });
});

import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeControl } from '../../../shared/src/protocol/codec.js';
import { PROTOCOL_VERSION } from '../../../shared/src/protocol/version.js';
import type { ServerUser } from '../../../transport/src/nats-server/authorization-config.js';
import { coordinatorPermissions, workerPermissions } from '../../../transport/src/nats-server/run-permissions.js';
import { CLI, ClusterHarness, mlpConfig, writeImageData, type Proc } from '../cluster/harness.js';
import { authorization, forgedControl, forgedPiece, sampleResident, spawnWithIdentity, startServer, totalDrops, watchViolations, type SecuredServer } from './secured-run.js';

/**
 * Hostile clients during a run (issue 12). An outsider without credentials cannot connect; a worker identity
 * of ANOTHER run on the same server is refused every publish on this run's subjects; a spare worker identity
 * of THIS run cannot command the run (step, shutdown are refused by the server). Each sends a forged early
 * gradient piece, `step s+1` with lr 1e30, a forged `stepDone`, `shutdown{completed}`, an `evaluated` with a
 * count of 1e300, a join with id "-" and 10⁶ tiny pieces for step 2³²−1. The run still completes (exit 0),
 * replicas agree, worker memory grows < 50 MB; against outsiders, the parameters are those of an undisturbed run.
 */

// 36·24 + 24 + 24·3 + 3 parameters (mlpConfig): with 2 ranks and pieces of ≤ 1 MiB, chunk c is piece c.
const PARAMETERS = 36 * 24 + 24 + 24 * 3 + 3;
const CHUNK = [Math.ceil(PARAMETERS / 2), Math.floor(PARAMETERS / 2)];
const FLOOD = 1_000_000;
const LAST_STEP = 0xffffffff;
const RSS_GROWTH_LIMIT = 50 << 20;

interface Identity {
  readonly user: string;
  readonly pass: string;
}
interface RunIdentities {
  readonly coordinator: Identity;
  readonly w0: Identity;
  readonly w1: Identity;
  /** A third worker identity the run never uses: the insider. */
  readonly spare: Identity;
}
const identity = (user: string): Identity => ({ user, pass: randomBytes(24).toString('hex') });

/** Every attacked run has its own run id (and JetStream records) and identities on the shared server. */
const RUNS = ['outsiders', 'insider', 'insider-eval', 'insider-error', 'insider-poison'] as const;
type RunName = (typeof RUNS)[number];
const runId = (name: RunName) => `hostile-${name}`;
const ids = Object.fromEntries(
  RUNS.map((name) => [name, { coordinator: identity(`${name}-coordinator`), w0: identity(`${name}-w0`), w1: identity(`${name}-w1`), spare: identity(`${name}-w2`) }]),
) as Record<RunName, RunIdentities>;
const OTHER_RUN = 'hostile-other';
const otherRunWorker = identity('other-w0');

let h: ClusterHarness;
let server: SecuredServer;
const baseline: Record<string, { paramsChecksum: string; steps: number }> = {};
const opened: NatsConnection[] = [];

/** The undisturbed run of `config`: `gradmesh launch` (authenticated by default). */
function undisturbed(config: string): { paramsChecksum: string; steps: number } {
  const report = `baseline-${config}`;
  const r = spawnSync(process.execPath, [CLI, 'launch', '--config', config, '--workers', '2', '--threads', '1', '--report', report], {
    cwd: h.dir,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, GRADMESH_THREADS: '1' },
  });
  expect(r.status, r.stderr).toBe(0);
  const parsed = JSON.parse(readFileSync(h.path(report), 'utf8'));
  expect(parsed.paramsChecksum).toMatch(/^[0-9a-f]{64}$/);
  return parsed;
}

beforeAll(async () => {
  h = await ClusterHarness.start(false);
  writeImageData(h, 400);
  // 1 000 steps: the run is still on when the forgeries and the first 10⁵ flood pieces are out (asserted). The
  // rest of an outsider's flood may outlast it: nats-server takes ~25 µs per refused publish (it logs each), so
  // those 10⁶ take 25–35 s here.
  // Both runs send their pieces through nats-server, so forged pieces on the run's rs/ag subjects reach the workers'
  // all-reduce (over direct links, the default, nothing subscribes to those subjects; a member forging another
  // rank's pieces on a link is tested in tests/integration/allreduce/direct-links-allreduce.test.ts).
  h.file('medium.json', mlpConfig({ epochs: 50, batchSize: 16, validationSplit: 0.2, microBatch: 8, allreduce: { transport: 'nats' } }));
  // 100 steps and 5 evaluations (one per epoch), for the attacks on the replies.
  h.file('short.json', mlpConfig({ epochs: 5, batchSize: 16, validationSplit: 0.2, microBatch: 8, allreduce: { transport: 'nats' } }));
  const users: ServerUser[] = [];
  for (const name of RUNS) {
    const run = runId(name);
    const i = ids[name];
    users.push({ user: i.coordinator.user, password: i.coordinator.pass, permissions: coordinatorPermissions(run) });
    for (const w of ['w0', 'w1'] as const) users.push({ user: i[w].user, password: i[w].pass, permissions: workerPermissions(run, w) });
    users.push({ user: i.spare.user, password: i.spare.pass, permissions: workerPermissions(run, 'w2') });
  }
  users.push({ user: otherRunWorker.user, password: otherRunWorker.pass, permissions: workerPermissions(OTHER_RUN, 'w0') });
  server = await startServer(h, 'nats', authorization(users));
  baseline['medium.json'] = undisturbed('medium.json');
  baseline['short.json'] = undisturbed('short.json');
});
afterAll(async () => {
  for (const nc of opened) await nc.close().catch(() => undefined);
  await h?.close();
  await server?.stop();
});

async function as(i: Identity): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url, reconnect: false, user: i.user, pass: i.pass });
  opened.push(nc);
  return nc;
}

/** A coordinator and workers w0, w1 of the run, each with its own identity in its environment. */
function startRun(name: RunName, config: string): { coordinator: Proc; workers: Proc[] } {
  const run = runId(name);
  const i = ids[name];
  const coordinator = spawnWithIdentity(h, `${name}-coordinator`, ['coordinator', '--nats', server.url, '--run', run, '--config', config, '--workers', '2', '--report', `${run}.json`], i.coordinator);
  const workers = (['w0', 'w1'] as const).map((w) => spawnWithIdentity(h, `${name}-${w}`, ['worker', '--nats', server.url, '--run', run, '--id', w, '--threads', '1'], i[w]));
  return { coordinator, workers };
}

/** The step and generation the run is at, read from its step subject (a worker identity may listen there). */
async function currentStep(observer: NatsConnection, run: string, atLeast: number): Promise<{ step: number; gen: number }> {
  const sub = observer.subscribe(`gradmesh.${run}.step`);
  for await (const m of sub) {
    try {
      const c = decodeControl(m.subject, m.data, { run, version: PROTOCOL_VERSION });
      if (c.kind === 'step' && c.body.step >= atLeast) {
        sub.unsubscribe();
        return { step: c.body.step, gen: c.gen };
      }
    } catch {
      // not a command we can read
    }
  }
  throw new Error(`the step subject of ${run} closed`);
}

/**
 * Every forgery of issue 12 against `run` at step `s` of generation `gen`, in the name of the coordinator or of
 * the run's workers (w0 = rank 0, w1 = rank 1): each on the subject of the identity it impersonates, and each a
 * second time on the attacker's own subject (`…​.<self>`, the only worker subjects its identity may publish on,
 * Note [the sender is in the subject]); then 10⁶ tiny pieces for step 2³²−1 on its own rs subjects, flushed
 * every 10 000.
 */
async function attack(nc: NatsConnection, run: string, s: number, gen: number, self: string, whileOn: { readonly running: () => boolean; during?: boolean }): Promise<void> {
  const p = `gradmesh.${run}`;
  const twice = (subject: (sender: string) => string, impersonated: string, data: Uint8Array) => {
    nc.publish(subject(impersonated), data);
    nc.publish(subject(self), data);
  };
  // A forged reduce-scatter piece for each owner, claiming the other rank as its source, for the current step
  // and the next 50: the run moves on while the attacker reacts, and a receiver keeps early pieces of the next
  // step or two only. The real copies of a step that has not started yet arrive after these (first copy wins).
  for (let step = s; step <= s + 50; step++) {
    for (const owner of [0, 1]) {
      twice((id) => `${p}.rs.${owner}.${id}`, `w${1 - owner}`, forgedPiece({ family: 'rs', source: 1 - owner, generation: gen, step, piece: owner }, new Float32Array(CHUNK[owner]!).fill(0.5)));
    }
  }
  nc.publish(`${p}.step`, forgedControl(run, 'step', 'coordinator', gen, { step: s + 1, epoch: 0, batchIndex: 0, lr: 1e30 }));
  twice((id) => `${p}.step-done.${id}`, 'w0', forgedControl(run, 'stepDone', 'w0', gen, { step: s + 1, rank: 0, lossSum: 0, count: 8, extras: {}, computeMs: 1, allreduceMs: 1, checksum: '00', localFinite: true, skipped: false }));
  nc.publish(`${p}.shutdown`, forgedControl(run, 'shutdown', 'coordinator', gen, { reason: 'completed' }));
  for (let requestId = 0; requestId < 64; requestId++) twice((id) => `${p}.step-done.${id}`, 'w0', forgedEvaluated(run, gen, requestId));
  twice((id) => `${p}.join.${id}`, '-', forgedControl(run, 'join', '-', 0, { workerId: '-', pid: 1, host: 'attacker', threads: 1 }));
  await nc.flush();
  const tiny = new Float32Array([1]);
  for (let i = 0; i < FLOOD; i++) {
    const owner = i % 2;
    nc.publish(`${p}.rs.${owner}.${self}`, forgedPiece({ family: 'rs', source: 1 - owner, generation: gen, step: LAST_STEP, piece: i }, tiny));
    if (i % 10_000 === 9_999) await nc.flush();
    if (i === 100_000) whileOn.during = whileOn.running();
  }
  await nc.flush();
}

/** An `evaluated` reply in rank 0's name whose counts are 1e300 (consistent: cells sum to count, diagonal = correct). */
function forgedEvaluated(run: string, gen: number, requestId: number): Uint8Array {
  return forgedControl(run, 'evaluated', 'w0', gen, { requestId, rank: 0, lossSum: 0, count: 1e300, correct: 1e300, extras: {}, confusion: [[1e300, 0, 0], [0, 0, 0], [0, 0, 0]] });
}

interface Report {
  readonly paramsChecksum: string;
  readonly replicaChecksumsAgree: boolean;
  readonly steps: number;
  readonly droppedMessages: unknown;
}

interface Outcome {
  readonly report: Report;
  readonly rssGrowth: number[];
  /** The run was still on when the forgeries and the first 10⁵ flood pieces had been sent and flushed. */
  readonly runningDuringAttack: boolean;
}

/** Runs `name` on `config`, lets `attacker` (worker id `self`) strike once the run is at step 20, and says what the run and its workers did. */
async function attackedRun(name: RunName, config: string, attacker: NatsConnection, self: string): Promise<Outcome> {
  const run = runId(name);
  const observer = await as(ids[name].spare); // only listens: it tells the attacker which step the run is at
  const cluster = startRun(name, config);
  const { step, gen } = await currentStep(observer, run, 20);
  const sampler = sampleResident(cluster.workers.map((w) => w.pid));
  const before = cluster.workers.map((w) => sampler.peak(w.pid));
  const t0 = performance.now();
  const whileOn: { running: () => boolean; during?: boolean } = { running: () => cluster.coordinator.running() };
  await attack(attacker, run, step, gen, self, whileOn);
  const attackMs = performance.now() - t0;
  // Memory is watched while the attack lasts and for a second after (the workers take in what reached them).
  await new Promise((r) => setTimeout(r, 1_000));
  sampler.stop();
  const runningDuringAttack = whileOn.during === true;
  const exit = await cluster.coordinator.exit(150_000);
  expect(exit.code, cluster.coordinator.output).toBe(0);
  for (const w of cluster.workers) expect((await w.exit(30_000)).code, w.output).toBe(0);
  const rssGrowth = cluster.workers.map((w, k) => sampler.peak(w.pid) - before[k]!);
  const report = JSON.parse(readFileSync(h.path(`${run}.json`), 'utf8')) as Report;
  const events = cluster.coordinator.output.split('\n').filter((l) => /generation \d+ \(|is lost|timed out|dropped/.test(l));
  console.log(
    `${run}: attack from step ${step} took ${(attackMs / 1000).toFixed(1)} s; run on after the forgeries and 10⁵ pieces: ${runningDuringAttack}; worker RSS growth ${rssGrowth.map((g) => `${(g / 2 ** 20).toFixed(1)} MB`).join(', ')}; ` +
      `paramsChecksum ${report.paramsChecksum.slice(0, 12)}…; replicas agree: ${report.replicaChecksumsAgree}; drops ${JSON.stringify(report.droppedMessages)}\n${events.join('\n')}`,
  );
  return { report, rssGrowth, runningDuringAttack };
}

describe("clients without this run's credentials", () => {
  it('no credentials: the server refuses the connection', async () => {
    await expect(connect({ servers: server.url, reconnect: false, timeout: 5_000 })).rejects.toThrow(/authorization/i);
  });

  it("a worker of another run: every forged publish on this run's subjects is refused; the run completes exactly like an undisturbed one", async () => {
    const other = await as(otherRunWorker);
    const violations = watchViolations(other);
    const outcome = await attackedRun('outsiders', 'medium.json', other, 'w0');
    await violations.stop();
    expect(outcome.runningDuringAttack).toBe(true);
    const text = [...violations.seen].join('\n');
    for (const s of ['rs.0.w1', 'rs.1.w0', 'rs.0.w0', 'step', 'step-done.w0', 'shutdown', 'join.-', 'join.w0']) expect(text).toContain(`Publish to "gradmesh.${runId('outsiders')}.${s}"`);
    expect(violations.count()).toBeGreaterThan(FLOOD / 2);
    expect(outcome.report.paramsChecksum).toBe(baseline['medium.json']!.paramsChecksum);
    expect(outcome.report.steps).toBe(baseline['medium.json']!.steps);
    expect(outcome.report.replicaChecksumsAgree).toBe(true);
    for (const g of outcome.rssGrowth) expect(g).toBeLessThan(RSS_GROWTH_LIMIT);
  }, 240_000);
});

describe('a spare worker identity of this run (w2, never given a rank)', () => {
  it("cannot command the run or speak for a rank: the server refuses step, shutdown and other workers' subjects, the run drops what comes on its own; the run is the undisturbed one, worker memory stays bounded", async () => {
    const name = 'insider';
    const run = runId(name);
    const insider = await as(ids[name].spare);
    const violations = watchViolations(insider);
    const outcome = await attackedRun(name, 'medium.json', insider, 'w2');
    await violations.stop();
    expect(outcome.runningDuringAttack).toBe(true);
    const text = [...violations.seen].join('\n');
    for (const s of ['step', 'shutdown', 'rs.0.w1', 'rs.1.w0', 'step-done.w0', 'join.-']) expect(text).toContain(`Publish to "gradmesh.${run}.${s}"`);
    // Its own subjects are not refused: those messages reach the run, which holds them to the sender w2.
    expect(text).not.toMatch(/Publish to "gradmesh\.hostile-insider\.[^"]*\.w2"/);
    expect(outcome.report.paramsChecksum).toBe(baseline['medium.json']!.paramsChecksum);
    expect(outcome.report.steps).toBe(baseline['medium.json']!.steps);
    expect(outcome.report.replicaChecksumsAgree).toBe(true);
    // The flood reached the workers and was dropped there, counted.
    const drops = outcome.report.droppedMessages as { coordinator?: unknown; workers?: unknown };
    expect(totalDrops(drops.workers)).toBeGreaterThanOrEqual(FLOOD);
    expect(totalDrops(drops.coordinator)).toBeGreaterThan(0);
    for (const g of outcome.rssGrowth) expect(g, 'worker RSS growth under 10⁶ pieces for step 2³²−1').toBeLessThan(RSS_GROWTH_LIMIT);
  }, 240_000);

  it("publishes rs pieces claiming rank 1 for the next step, at every step, on its own subject: dropped as another sender's, the run is the undisturbed one", async () => {
    const name = 'insider-poison';
    const run = runId(name);
    const insider = await as(ids[name].spare);
    let forged = 0;
    // At each step command s ≥ 10 (the insider may listen to them), a piece of rank 0's chunk for step s+1 that
    // claims rank 1 as its source: early by one step, inside the receivers' window, ahead of the real copy.
    insider.subscribe(`gradmesh.${run}.step`, {
      callback: (_e, m) => {
        try {
          const c = decodeControl(m.subject, m.data, { run, version: PROTOCOL_VERSION });
          if (c.kind !== 'step' || c.body.step < 10 || c.body.step >= 60) return;
          insider.publish(`gradmesh.${run}.rs.0.w2`, forgedPiece({ family: 'rs', source: 1, generation: c.gen, step: c.body.step + 1, piece: 0 }, new Float32Array(CHUNK[0]!).fill(0.5)));
          forged++;
        } catch {
          // not a command we can read
        }
      },
    });
    await insider.flush();
    const cluster = startRun(name, 'short.json');
    const exit = await cluster.coordinator.exit(120_000);
    for (const w of cluster.workers) expect((await w.exit(30_000)).code, w.output).toBe(0);
    expect(exit.code, cluster.coordinator.output).toBe(0);
    const report = JSON.parse(readFileSync(h.path(`${run}.json`), 'utf8')) as Report;
    console.log(`${run}: forged pieces at ${forged} steps; paramsChecksum ${report.paramsChecksum.slice(0, 12)}… (undisturbed ${baseline['short.json']!.paramsChecksum.slice(0, 12)}…); drops ${JSON.stringify(report.droppedMessages)}`);
    expect(forged).toBe(50);
    expect(report.replicaChecksumsAgree).toBe(true);
    expect(report.paramsChecksum).toBe(baseline['short.json']!.paramsChecksum);
    // No step stalled: the forged pieces were dropped on arrival, never kept as early frames.
    expect(cluster.coordinator.output).not.toMatch(/is lost|generation 2/);
    const drops = report.droppedMessages as { workers?: Record<string, Record<string, number>> };
    expect(drops.workers?.['w0']?.['rs/wrong-sender'], JSON.stringify(drops)).toBe(50);
  }, 120_000);

  it("answers each evaluate request first with counts of 1e300, in rank 0's name and in its own: dropped and counted, no crash, the run is the undisturbed one", async () => {
    const name = 'insider-eval';
    const run = runId(name);
    const insider = await as(ids[name].spare);
    const violations = watchViolations(insider);
    let forged = 0;
    // The insider listens to the evaluation requests (a worker identity may) and answers each at once.
    insider.subscribe(`gradmesh.${run}.eval`, {
      callback: (_e, m) => {
        try {
          const c = decodeControl(m.subject, m.data, { run, version: PROTOCOL_VERSION });
          if (c.kind !== 'evaluate') return;
          const reply = forgedEvaluated(run, c.gen, c.body.requestId);
          insider.publish(`gradmesh.${run}.step-done.w0`, reply); // refused by the server
          insider.publish(`gradmesh.${run}.step-done.w2`, reply); // `from: w0` on w2's subject
          insider.publish(`gradmesh.${run}.step-done.w2`, forgedControl(run, 'evaluated', 'w2', c.gen, { requestId: c.body.requestId, rank: 0, lossSum: 0, count: 1e300, correct: 1e300, extras: {}, confusion: [[1e300, 0, 0], [0, 0, 0], [0, 0, 0]] }));
          forged++;
        } catch {
          // not a request we can read
        }
      },
    });
    await insider.flush();
    const cluster = startRun(name, 'short.json');
    const exit = await cluster.coordinator.exit(120_000);
    for (const w of cluster.workers) await w.exit(30_000);
    await violations.stop();
    // Validation evaluations and the test evaluation: more than the two whose answers may come too late (below).
    expect(forged).toBeGreaterThan(2);
    expect(exit.code, cluster.coordinator.output).toBe(0);
    expect([...violations.seen].join('\n')).toContain(`Publish to "gradmesh.${run}.step-done.w0"`);
    const report = JSON.parse(readFileSync(h.path(`${run}.json`), 'utf8')) as Report;
    expect(report.paramsChecksum).toBe(baseline['short.json']!.paramsChecksum);
    expect(report.replicaChecksumsAgree).toBe(true);
    // Two drops per forged answer — except perhaps the answers to the last two requests (the last epoch's
    // validation and the test evaluation, back to back at the end): they race the end of the run, and may reach the
    // coordinator after it counted its drops for the report (CI once counted 8 of 6 × 2).
    expect(totalDrops((report.droppedMessages as { coordinator?: unknown }).coordinator)).toBeGreaterThanOrEqual(2 * (forged - 2));
    expect(cluster.coordinator.output).not.toMatch(/internal error|unexpected error/);
  }, 120_000);

  it("reports an error in rank 0's name: refused on w0's subject, dropped on its own; no generation ends, the run is the undisturbed one", async () => {
    const name = 'insider-error';
    const run = runId(name);
    const insider = await as(ids[name].spare);
    const violations = watchViolations(insider);
    const observer = await as(ids[name].spare);
    const cluster = startRun(name, 'short.json');
    const { step, gen } = await currentStep(observer, run, 20);
    const forged = forgedControl(run, 'error', 'w0', gen, { rank: 0, step, message: 'forged by an insider' });
    insider.publish(`gradmesh.${run}.error.w0`, forged);
    insider.publish(`gradmesh.${run}.error.w2`, forged);
    insider.publish(`gradmesh.${run}.error.w2`, forgedControl(run, 'error', 'w2', gen, { rank: 0, step, message: 'forged by an insider' }));
    await insider.flush();
    const exit = await cluster.coordinator.exit(120_000);
    for (const w of cluster.workers) await w.exit(30_000);
    await violations.stop();
    expect(exit.code, cluster.coordinator.output).toBe(0);
    expect([...violations.seen].join('\n')).toContain(`Publish to "gradmesh.${run}.error.w0"`);
    expect(cluster.coordinator.output).not.toMatch(/is lost|generation 2/);
    const report = JSON.parse(readFileSync(h.path(`${run}.json`), 'utf8')) as Report;
    expect(report.paramsChecksum).toBe(baseline['short.json']!.paramsChecksum);
    expect(report.replicaChecksumsAgree).toBe(true);
    expect(totalDrops((report.droppedMessages as { coordinator?: unknown }).coordinator)).toBeGreaterThanOrEqual(2);
  }, 120_000);
});

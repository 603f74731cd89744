#!/usr/bin/env node
// Checks, from a coordinator's report (--report), that a run's all-reduce really went over direct worker-to-worker
// links and not through NATS: allreduce.transport is "direct" and every generation event ends "; all-reduce over
// direct links", naming each member's link address. With --rejoined <worker>, that worker must also have been
// lost (or have left) and then be a member of a later generation over direct links: a new generation, so new
// links (Note [links are per generation] in coordinator/src/generation-links.ts). With --encrypted the links must
// also have run inside TLS: allreduce.linkEncryption "tls" and every generation event ending "… direct links (TLS)".
// deploy/test.sh and deploy/compose-test.sh run it on the report they copy out of the coordinator's container, so
// a deployment whose workers cannot reach each other's link port cannot pass through NATS unnoticed.
//
// Usage: check-direct-links.mjs <report.json> [--rejoined <worker id>] [--encrypted]
//   prints one line per generation event and a summary; exit 1 with the reason when a check fails, 2 on bad usage
import { readFileSync } from 'node:fs';

let [file, ...rest] = process.argv.slice(2);
let rejoined;
let encrypted = false;
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === '--encrypted') encrypted = true;
  else if (rest[i] === '--rejoined' && rest[i + 1] !== undefined) rejoined = rest[++i];
  else rejoined = file = undefined;
}
if (!file) {
  process.stderr.write('usage: check-direct-links.mjs <report.json> [--rejoined <worker id>] [--encrypted]\n');
  process.exit(2);
}
const fail = (why) => {
  process.stderr.write(`check-direct-links: ${file}: ${why}\n`);
  process.exit(1);
};

let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  fail(`cannot read the report (${error.message})`);
}
const ROUTE = `; all-reduce over direct links${encrypted ? ' (TLS)' : ''}`;
const transport = report.allreduce?.transport;
if (transport !== 'direct') fail(`allreduce.transport is ${JSON.stringify(transport)}, not "direct"`);
if (encrypted && report.allreduce?.linkEncryption !== 'tls') fail(`allreduce.linkEncryption is ${JSON.stringify(report.allreduce?.linkEncryption)}, not "tls"`);
const events = Array.isArray(report.events) ? report.events : [];
const generations = events.filter((e) => e.kind === 'generation');
if (generations.length === 0) fail('the report has no generation event');
for (const g of generations) {
  process.stdout.write(`  generation ${g.generation} at step ${g.step}: ${g.detail}\n`);
  if (!String(g.detail).endsWith(ROUTE)) fail(`generation ${g.generation} did not run its all-reduce over ${encrypted ? 'encrypted ' : ''}direct links: "${g.detail}"`);
  // Every member is listed with the address of its link listener: "rank 0 = gradmesh-worker-0 (10.89.0.5:29500)".
  const members = String(g.detail).match(/rank \d+ = [^,;]+/g) ?? [];
  const unaddressed = members.filter((m) => !/ \([^()]+:\d+\)$/.test(m));
  if (members.length === 0 || unaddressed.length > 0) fail(`generation ${g.generation} lists a member without a link address: "${g.detail}"`);
}
let rejoinedIn;
if (rejoined !== undefined) {
  const gone = events.findIndex((e) => (e.kind === 'lost' || e.kind === 'left') && e.worker === rejoined);
  if (gone < 0) fail(`${rejoined} was never lost or left`);
  const back = events.slice(gone + 1).find((e) => e.kind === 'generation' && new RegExp(`= ${rejoined.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(`).test(e.detail));
  if (back === undefined) fail(`${rejoined} was ${events[gone].kind} (generation ${events[gone].generation}) and is in no later generation`);
  rejoinedIn = back.generation;
}
process.stdout.write(`direct links: allreduce.transport "direct"${encrypted ? ', linkEncryption "tls"' : ''}, ${generations.length} generation(s), each over ${encrypted ? 'encrypted ' : ''}direct links${rejoined === undefined ? '' : `; ${rejoined} rejoined in generation ${rejoinedIn}`}\n`);

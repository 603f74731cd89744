#!/usr/bin/env node
// For deploy/compose-test.sh: a compose override that passes each service's GRADMESH_<FLAG> variables also
// as --<flag> <value> (GRADMESH_NATS_URL as --nats), where the command's help (<help-dir>/<command>.txt)
// lists the flag — for an image built before the flags' environment variables existed (as
// pods-from-manifests.mjs --env-as-flags does for podman).
//
// Usage: compose-env-as-flags.mjs <docker-compose-config.yaml> <help-dir>  > override.yaml
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';

const [configFile, helpDir] = process.argv.slice(2);
if (!configFile || !helpDir) {
  process.stderr.write('usage: compose-env-as-flags.mjs <docker-compose-config.yaml> <help-dir>\n');
  process.exit(2);
}
const config = parse(readFileSync(configFile, 'utf8'));
const services = {};
for (const [name, service] of Object.entries(config.services ?? {})) {
  const command = Array.isArray(service.command) ? service.command : [];
  if (command.length !== 1 || !['coordinator', 'worker'].includes(command[0])) continue;
  const help = readFileSync(path.join(helpDir, `${command[0]}.txt`), 'utf8');
  const flags = Object.entries(service.environment ?? {}).flatMap(([key, value]) => {
    const m = /^GRADMESH_([A-Z0-9_]+)$/.exec(key);
    if (!m || key === 'GRADMESH_THREADS') return [];
    const flag = `--${m[1] === 'NATS_URL' ? 'nats' : m[1].toLowerCase().replace(/_/g, '-')}`;
    if (!new RegExp(`^\\s*${flag}[ =]`, 'm').test(help)) {
      process.stderr.write(`${name}: ${key} not passed: this image's \`${command[0]}\` has no ${flag}\n`);
      return [];
    }
    return [flag, String(value)];
  });
  services[name] = { command: [...command, ...flags] };
}
// YAML 1.1, as docker-compose reads it: 2:2 unquoted would be the sexagesimal number 122.
process.stdout.write(stringify({ version: config.version ?? '3.8', services }, { version: '1.1' }));

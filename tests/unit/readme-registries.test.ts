import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAYER_ACTIVATIONS } from '../../shared/src/layers/activation-op.js';
import { layerSpec } from '../../shared/src/layers/registry.js';
import { LOSS_NAMES } from '../../shared/src/losses/spec.js';
import { optimizerSpec } from '../../shared/src/optimizers/spec.js';
import { scheduleSpec } from '../../shared/src/schedules/spec.js';

/**
 * The README's table of every name a config accepts ("The config") against the registries the code reads:
 * a layer type, loss, schedule, optimizer or activation — or an option of one — that the code accepts but the
 * README does not list (or the other way round) fails here, naming it.
 */
type Table = Map<string, Set<string>>;

const README = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');

/** kind → "name: option, option" rows of the README table whose header is `| kind | name | options |`. */
function readmeTable(markdown: string): Map<string, Table> {
  const start = markdown.indexOf('| kind | name | options |');
  if (start < 0) throw new Error('README has no "| kind | name | options |" table');
  const rows = markdown.slice(start).split('\n').slice(2);
  const kinds = new Map<string, Table>();
  for (const row of rows) {
    if (!row.startsWith('|')) break;
    const [kind, name, options] = row.split('|').slice(1, 4).map((cell) => cell.trim());
    const names = [...name!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const opts = new Set([...options!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
    if (!kinds.has(kind!)) kinds.set(kind!, new Map());
    for (const n of names) kinds.get(kind!)!.set(n, opts);
  }
  return kinds;
}

/** The branches of a discriminated union of option objects: their `type` and their option keys (without `type`). */
function branches(union: { options: readonly unknown[] }): Table {
  const table: Table = new Map();
  for (const branch of union.options as { shape: Record<string, unknown> & { type: { value: string } } }[]) {
    table.set(branch.shape.type.value, new Set(Object.keys(branch.shape).filter((k) => k !== 'type')));
  }
  return table;
}

function registries(): Map<string, Table> {
  const losses: Table = new Map([...LOSS_NAMES, 'vae'].map((name) => [name, new Set(name === 'binaryCrossEntropy' || name === 'categoricalCrossEntropy' ? ['fromLogits'] : [])]));
  return new Map([
    ['layer', branches(layerSpec as never)],
    ['activation', new Map(LAYER_ACTIVATIONS.map((a) => [a, new Set<string>()]))],
    ['loss', losses],
    ['schedule', branches(scheduleSpec as never)],
    ['optimizer', branches(optimizerSpec as never)],
  ]);
}

/** Every difference between two tables, one line each. */
function differences(readme: Map<string, Table>, code: Map<string, Table>): string[] {
  const out: string[] = [];
  for (const [kind, names] of code) {
    const listed = readme.get(kind) ?? new Map<string, Set<string>>();
    for (const [name, options] of names) {
      const readmeOptions = listed.get(name);
      if (readmeOptions === undefined) {
        out.push(`README misses ${kind} "${name}"`);
        continue;
      }
      for (const o of options) if (!readmeOptions.has(o)) out.push(`README misses option "${o}" of ${kind} "${name}"`);
      for (const o of readmeOptions) if (!options.has(o)) out.push(`README lists option "${o}" of ${kind} "${name}", which the code does not accept`);
    }
    for (const name of listed.keys()) if (!names.has(name)) out.push(`README lists ${kind} "${name}", which the code does not accept`);
  }
  for (const kind of readme.keys()) if (!code.has(kind)) out.push(`README lists kind "${kind}", which no registry has`);
  return out;
}

describe('README lists every loss, schedule, optimizer, layer and layer option the code accepts', () => {
  it('the README table and the registries agree exactly', () => {
    expect(differences(readmeTable(README), registries())).toEqual([]);
  });

  it('the registries are what the README calls them: vae is a loss, constant a schedule, meanAbsoluteError a loss', () => {
    const code = registries();
    expect(code.get('loss')!.has('vae')).toBe(true);
    expect(code.get('loss')!.has('meanAbsoluteError')).toBe(true);
    expect(code.get('schedule')!.has('constant')).toBe(true);
    expect(code.get('layer')!.get('lstm')!.has('unitForgetBias')).toBe(true);
  });

  it('negative control: a README without the vae loss row, or with a layer option dropped, fails with a line naming it', () => {
    const withoutVae = README.replace(/^\| loss \| `vae` \|.*\n/m, '');
    expect(differences(readmeTable(withoutVae), registries())).toEqual(['README misses loss "vae"']);
    const withoutRate = README.replace(/^(\| layer \| `dropout` \| `name`), `rate` \|/m, '$1 |');
    expect(differences(readmeTable(withoutRate), registries())).toEqual(['README misses option "rate" of layer "dropout"']);
    const withExtra = README.replace(/^(\| schedule \| `constant` \|.*\n)/m, '$1| schedule | `linear` | — |\n');
    expect(differences(readmeTable(withExtra), registries())).toEqual(['README lists schedule "linear", which the code does not accept']);
  });
});

import { ConfigError } from '@gradmesh/shared/internal';
import type { Command } from './args.js';
import { simulateCommand } from './experiment/simulate-command.js';

/** The subcommands; the scaling runner's branch adds `scaling`. */
const SUBCOMMANDS: readonly Command[] = [simulateCommand];

/** `gradmesh experiment <what>`: scaling experiments (dispatched like `gradmesh bench <what>`). */
export const experimentCommand: Command = {
  name: 'experiment',
  summary: 'Scaling experiments: `experiment simulate` (calibrated step-time model, validation, projections, plots)',
  usage: `gradmesh experiment <${SUBCOMMANDS.map((c) => c.name).join('|')}> [options]\n\n${SUBCOMMANDS.map((c) => c.usage).join('\n\n')}`,
  options: Object.assign({}, ...SUBCOMMANDS.map((c) => c.options)),
  async run(values, positionals) {
    const [what, ...rest] = positionals;
    const sub = SUBCOMMANDS.find((c) => c.name === what);
    if (sub === undefined) throw new ConfigError('gradmesh experiment', `needs what to run: ${SUBCOMMANDS.map((c) => c.name).join(', ')}`, { value: what ?? null });
    return sub.run(values, rest);
  },
};

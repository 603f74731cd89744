import { ConfigError } from '@gradmesh/shared/internal';
import { envVariableOf, type Command } from './args.js';
import { scalingCommand } from './experiment/scaling-command.js';
import { simulateCommand } from './experiment/simulate-command.js';

/**
 * The experiments, one module each in ./experiment/: `scaling` (measure) and `simulate` (project). Each
 * subcommand owns its options; the dispatcher accepts the union (parseArgs needs them up front) and then refuses
 * any option the chosen subcommand does not take.
 */
const SUBCOMMANDS: readonly Command[] = [scalingCommand, simulateCommand];

export const experimentCommand: Command = {
  name: 'experiment',
  summary: `Scaling experiments: ${SUBCOMMANDS.map((c) => `\`experiment ${c.name}\``).join(', ')}`,
  usage: `gradmesh experiment <${SUBCOMMANDS.map((c) => c.name).join('|')}> [options]\n\n${SUBCOMMANDS.map((c) => `${c.summary}\n\n${c.usage}`).join('\n\n')}`,
  options: Object.assign({}, ...SUBCOMMANDS.map((c) => c.options)) as Command['options'],
  async run(values, positionals) {
    const [name, ...rest] = positionals;
    const sub = SUBCOMMANDS.find((c) => c.name === name);
    if (sub === undefined) throw new ConfigError('gradmesh experiment', `needs a subcommand: ${SUBCOMMANDS.map((c) => c.name).join(' or ')}`, { value: name ?? null });
    // An option from a GRADMESH_<OPTION> variable that this subcommand does not take is ignored, as for any
    // command without that option (the union above let the variable in); a flag on the command line is refused.
    const fromEnvironment = (k: string) => process.env[envVariableOf(k)] !== undefined && values[k] === process.env[envVariableOf(k)];
    const foreign = Object.keys(values).filter((k) => k !== 'help' && k !== 'verbose' && !(k in sub.options) && !fromEnvironment(k));
    for (const k of Object.keys(values)) if (!(k in sub.options) && k !== 'help' && k !== 'verbose') delete values[k];
    if (foreign.length > 0) throw new ConfigError(`--${foreign[0]}`, `is not an option of gradmesh experiment ${sub.name}`, { hint: `see gradmesh experiment ${sub.name} --help` });
    return sub.run(values, rest);
  },
};

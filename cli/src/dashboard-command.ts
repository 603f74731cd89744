import { readFileSync } from 'node:fs';
import { ConfigError, DataError } from '@gradmesh/shared/internal';
import { feedFromReport, parseListenAddress, watchRun } from '@gradmesh/dashboard';
import type { Command } from './args.js';

export const dashboardCommand: Command = {
  name: 'dashboard',
  summary: 'Serve the dashboard of a finished run from its report (--report of train, coordinator or launch)',
  usage: `gradmesh dashboard <report.json> [--listen [host:]port]

Options:
  --listen [host:]port   where to serve the page (default: 127.0.0.1:8080; host defaults to 127.0.0.1)

Serves until Ctrl-C.`,
  options: { listen: { type: 'string' } },
  async run(values, positionals) {
    const [file, ...extra] = positionals;
    if (file === undefined || extra.length > 0) throw new ConfigError('gradmesh dashboard', 'takes one report file', { hint: 'e.g. gradmesh dashboard reports/mnist-cnn.json' });
    let report: unknown;
    try {
      report = JSON.parse(readFileSync(file, 'utf8'));
    } catch (cause) {
      throw new DataError(file, `cannot read the report: ${(cause as Error).message}`);
    }
    const feed = feedFromReport(report, file);
    const watch = await watchRun({ feed, dashboard: parseListenAddress(values['listen'] ?? '8080', '--listen'), log: (line) => process.stderr.write(`${line}\n`) });
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await watch.close();
    return 0;
  },
};

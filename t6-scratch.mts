import { runBackendBenchmark, formatBenchTable } from './shared/src/bench/index.js';
import { loadRunConfig } from './shared/src/config/run-config.js';
const r = await runBackendBenchmark({ quick: true, configs: { mlp: loadRunConfig('examples/mnist-mlp.json'), cnn: loadRunConfig('examples/mnist-cnn.json'), lstm: loadRunConfig('examples/mnist-lstm.json') }, onProgress: (l) => process.stderr.write(l + '\n') });
process.stdout.write(formatBenchTable(r));

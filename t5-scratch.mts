import { loadTfjs, useTfjsBackend } from './shared/src/bench/tfjs/runtime.js';
import { ensureConv2dBackpropFilter } from './shared/src/bench/tfjs/conv2d-backprop-filter.js';
import { tfjsTrainer } from './shared/src/bench/tfjs/trainer.js';
import { syntheticSamples } from './shared/src/bench/synthetic.js';
import { measureThroughput } from './shared/src/bench/timing.js';
import { loadRunConfig } from './shared/src/config/run-config.js';
const rt = await loadTfjs(); const tf = rt.tf;
ensureConv2dBackpropFilter(tf);
const budget = { warmupMs: 1000, runMs: 300, budgetMs: 3000, minRuns: 3, maxRuns: 10 };
for (const [name, batch, be] of [['mlp',64,'wasm'],['mlp',256,'wasm'],['cnn',64,'wasm'],['lstm',64,'wasm'],['mlp',64,'cpu'],['lstm',64,'cpu']] as const) {
  await useTfjsBackend(tf, be);
  const config = loadRunConfig(`examples/mnist-${name}.json`);
  const s = syntheticSamples(batch, 784);
  const tr = tfjsTrainer(tf, config, s, batch);
  const t = await measureThroughput(() => tr.step(), batch, budget);
  await tr.dispose();
  console.log(name, batch, be, JSON.stringify(t), tf.memory().numTensors);
}
